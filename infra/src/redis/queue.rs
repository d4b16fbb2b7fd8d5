//! The moderation queue on a Redis stream with one consumer group per deployment.
//! A claim first takes over items whose lease (idle time) expired, then reads new ones;
//! an item is in at most one moderator's pending list at a time. A hash maps comments
//! to stream entries, so adding a comment twice does nothing and deciding it removes
//! its entry. A marker key says the stream was built from the database: when Redis
//! lost it (FLUSHALL, a restart without persistence) the stream is rebuilt from the
//! PENDING comments, without losing or duplicating an item.

use async_trait::async_trait;
use chrono::Duration;
use mati_domain::DomainResult;
use mati_domain::comment::{CommentId, StaffId};
use mati_domain::lifecycle::CommentStatus;
use mati_domain::ports::ModerationQueue;
use redis::Script;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::Redis;
use crate::Db;
use crate::db::db_error;
use crate::db::entity::comment;
use crate::queue::QueueBackend;

const GROUP: &str = "moderators";
/// Comments per rebuild call, to keep each script short.
const REBUILD_CHUNK: usize = 500;

/// KEYS: stream, entries hash. ARGV: group, comment ids…
const ENQUEUE: &str = r"
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
local added = 0
for i = 2, #ARGV do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
    local id = redis.call('XADD', KEYS[1], '*', 'comment', ARGV[i])
    redis.call('HSET', KEYS[2], ARGV[i], id)
    added = added + 1
  end
end
return added
";

/// KEYS: stream, entries hash, marker. ARGV: group, consumer, count, lease (ms).
const CLAIM: &str = r"
if redis.call('EXISTS', KEYS[3]) == 0 then
  return redis.error_reply('MATI_REBUILD queue not built')
end
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
local want = tonumber(ARGV[3])
local out = {}
local cursor = '0-0'
repeat
  local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4], cursor, 'COUNT', want - #out)
  cursor = r[1]
  for _, entry in ipairs(r[2]) do
    if entry[2] then table.insert(out, entry[2][2]) end
  end
until cursor == '0-0' or #out >= want
if #out < want then
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', want - #out, 'STREAMS', KEYS[1], '>')
  if r then
    for _, entry in ipairs(r[1][2]) do table.insert(out, entry[2][2]) end
  end
end
return out
";

/// KEYS: stream, entries hash. ARGV: group, comment id.
const DONE: &str = r"
local id = redis.call('HGET', KEYS[2], ARGV[2])
if id then
  redis.call('XACK', KEYS[1], ARGV[1], id)
  redis.call('XDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
";

/// The queue on Redis.
pub struct RedisQueue {
    redis: Redis,
    db: Db,
    lease: Duration,
    rebuilt: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often the queue is rebuilt from the database even when Redis kept its marker: a
/// failover to a replica that lagged, or an old snapshot, may have lost recent entries.
const REBUILD_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl RedisQueue {
    /// A queue whose leases last `lease`; `db` rebuilds it.
    pub fn new(redis: Redis, db: Db, lease: Duration) -> Self {
        Self {
            redis,
            db,
            lease,
            rebuilt: std::sync::Mutex::new(None),
        }
    }

    fn keys(&self) -> [String; 3] {
        [
            self.redis.key("moderation"),
            self.redis.key("moderation:entries"),
            self.redis.key("moderation:built"),
        ]
    }

    async fn add(&self, ids: &[CommentId]) -> DomainResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.redis.connection().await?;
        let [stream, entries, _] = self.keys();
        let script = Script::new(ENQUEUE);
        let mut invocation = script.prepare_invoke();
        invocation.key(stream).key(entries).arg(GROUP);
        for id in ids {
            invocation.arg(*id);
        }
        let added: Result<i64, _> = invocation.invoke_async(&mut conn).await;
        added.map(|_| ()).map_err(|e| self.redis.failed(&e))
    }

    /// Re-adds every PENDING comment, oldest first, then marks the queue as built.
    pub async fn rebuild(&self) -> DomainResult<usize> {
        let pending: Vec<i64> = comment::Entity::find()
            .select_only()
            .column(comment::Column::Id)
            .filter(
                Condition::any()
                    .add(comment::Column::Status.eq(CommentStatus::Pending.as_str()))
                    .add(comment::Column::Hidden.eq(true)),
            )
            .order_by_asc(comment::Column::Id)
            .into_tuple()
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        for chunk in pending.chunks(REBUILD_CHUNK) {
            self.add(chunk).await?;
        }
        let mut conn = self.redis.connection().await?;
        let [_, _, marker] = self.keys();
        let set: Result<(), _> = redis::cmd("SET").arg(marker).arg(1).query_async(&mut conn).await;
        set.map_err(|e| self.redis.failed(&e))?;
        tracing::info!(items = pending.len(), "moderation queue rebuilt from the database");
        Ok(pending.len())
    }

    async fn try_claim(&self, moderator: StaffId, count: u64) -> Result<Vec<CommentId>, redis::RedisError> {
        let mut conn = self
            .redis
            .connection()
            .await
            .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "redis unavailable")))?;
        let [stream, entries, marker] = self.keys();
        let ids: Vec<String> = Script::new(CLAIM)
            .key(stream)
            .key(entries)
            .key(marker)
            .arg(GROUP)
            .arg(format!("moderator-{moderator}"))
            .arg(count)
            .arg(self.lease.num_milliseconds().max(1))
            .invoke_async(&mut conn)
            .await?;
        Ok(ids.iter().filter_map(|id| id.parse().ok()).collect())
    }
}

fn needs_rebuild(err: &redis::RedisError) -> bool {
    err.to_string().contains("MATI_REBUILD")
}

#[async_trait]
impl ModerationQueue for RedisQueue {
    async fn claim(&self, moderator: StaffId, count: u64) -> DomainResult<Vec<CommentId>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        match self.try_claim(moderator, count).await {
            Ok(ids) => Ok(ids),
            Err(err) if needs_rebuild(&err) => {
                self.rebuild().await?;
                self.try_claim(moderator, count)
                    .await
                    .map_err(|e| self.redis.failed(&e))
            }
            Err(err) => Err(self.redis.failed(&err)),
        }
    }

    async fn done(&self, id: CommentId) -> DomainResult<()> {
        let mut conn = self.redis.connection().await?;
        let [stream, entries, _] = self.keys();
        let done: Result<i64, _> = Script::new(DONE)
            .key(stream)
            .key(entries)
            .arg(GROUP)
            .arg(id)
            .invoke_async(&mut conn)
            .await;
        done.map(|_| ()).map_err(|e| self.redis.failed(&e))
    }
}

#[async_trait]
impl QueueBackend for RedisQueue {
    async fn enqueue(&self, ids: &[CommentId]) -> DomainResult<()> {
        self.add(ids).await
    }

    async fn maintain(&self) -> DomainResult<()> {
        let mut conn = self.redis.connection().await?;
        let [_, _, marker] = self.keys();
        let built: Result<bool, _> = redis::cmd("EXISTS").arg(marker).query_async(&mut conn).await;
        let stale = self
            .rebuilt
            .lock()
            .map(|last| last.is_none_or(|at| at.elapsed() >= REBUILD_EVERY))
            .unwrap_or(true);
        if !built.map_err(|e| self.redis.failed(&e))? || stale {
            // Adding an item twice does nothing, so rebuilding is always safe.
            self.rebuild().await?;
            if let Ok(mut last) = self.rebuilt.lock() {
                *last = Some(std::time::Instant::now());
            }
        }
        Ok(())
    }
}
