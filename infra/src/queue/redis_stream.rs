//! The moderation queue on a Redis stream with one consumer group per deployment.
//! A claim first takes over items whose lease (idle time) expired, then reads new ones;
//! an item is in at most one moderator's pending list at a time. A hash maps comments
//! to stream entries, so adding a comment twice does nothing and deciding it removes
//! its entry. A marker key says the stream was built from the database: when Redis
//! lost it (FLUSHALL, a restart without persistence) the stream is rebuilt from the
//! PENDING comments, without losing or duplicating an item.
//!
//! Every lease is also recorded in the database ([`SqlQueue`]), and an item is handed
//! out only when the database grants its lease. So while Redis is down moderators
//! claim from the database, and when Redis returns (even empty) nothing leased
//! meanwhile is leased again before its lease ends.
//!
//! Adding is followed by a look at the database: an item decided between the read of
//! the pending comments and the add (a rebuild, the outbox relay) is taken out again.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use mati_domain::DomainResult;
use mati_domain::clock::Clock;
use mati_domain::comment::CommentStatus;
use mati_domain::comment::{CommentId, StaffId};
use mati_domain::ports::ModerationQueue;
use redis::Script;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::QueueBackend;
use super::sql::SqlQueue;
use crate::Db;
use crate::db::db_error;
use crate::db::entity::comment;
use crate::redis::Redis;

const GROUP: &str = "moderators";
/// Comments per rebuild call, to keep each script short.
const REBUILD_CHUNK: usize = 500;
/// Reads from Redis per claim when the database refuses items others hold.
const CLAIM_ROUNDS: usize = 4;
/// The error code with which [`CLAIM`] asks for the queue to be built first.
const REBUILD: &str = "MATI_REBUILD";

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

/// KEYS: stream, entries hash. ARGV: group, comment ids…
const DONE: &str = r"
for i = 2, #ARGV do
  local id = redis.call('HGET', KEYS[2], ARGV[i])
  if id then
    redis.call('XACK', KEYS[1], ARGV[1], id)
    redis.call('XDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
return 1
";

/// Sets the idle time of items a claim read but could not lease (another moderator
/// holds them in the database), so that they are taken over when that lease ends.
/// KEYS: stream, entries hash. ARGV: group, consumer, then comment id and idle ms pairs.
const DEFER: &str = r"
for i = 3, #ARGV, 2 do
  local id = redis.call('HGET', KEYS[2], ARGV[i])
  if id then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'IDLE', ARGV[i + 1], 'JUSTID')
  end
end
return 1
";

/// The queue on Redis, with its leases in the database.
pub struct RedisQueue {
    redis: Redis,
    db: Db,
    leases: SqlQueue,
    /// When the last rebuild began, and in which of Redis' epochs.
    rebuilt: std::sync::Mutex<Option<(std::time::Instant, u64)>>,
}

/// How often the queue is rebuilt from the database even when Redis kept its marker: an
/// old snapshot may have lost recent entries. A failover that Mati followed (a new
/// epoch of [`Redis`]) rebuilds it at once: the new master may lack the last entries
/// the old one acknowledged.
const REBUILD_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The comments that wait for a moderator: pending, or hidden by flags.
fn waits_for_moderator() -> Condition {
    Condition::any()
        .add(comment::Column::Status.eq(CommentStatus::Pending.as_str()))
        .add(comment::Column::Hidden.eq(true))
}

impl RedisQueue {
    /// A queue whose leases last `lease` (measured by `clock`); `db` rebuilds it and
    /// records its leases.
    pub fn new(redis: Redis, db: Db, clock: Arc<dyn Clock>, lease: Duration) -> Self {
        Self {
            redis,
            leases: SqlQueue::new(db.clone(), clock, lease),
            db,
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

    /// Adds `ids` to the stream, then takes out those the database says were decided
    /// meanwhile: a decision removes its item after it commits, so whichever comes
    /// last, the add or the removal, no decided item stays.
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
            invocation.arg(id.get());
        }
        let added: Result<i64, _> = invocation.invoke_async(&mut conn).await;
        added.map_err(|e| self.redis.failed(&e))?;
        let still: BTreeSet<CommentId> = comment::Entity::find()
            .select_only()
            .column(comment::Column::Id)
            .filter(comment::Column::Id.is_in(ids.iter().map(|id| id.get())))
            .filter(waits_for_moderator())
            .into_tuple::<i64>()
            .all(self.db.conn())
            .await
            .map_err(db_error)?
            .into_iter()
            .map(CommentId::new)
            .collect();
        let decided: Vec<CommentId> = ids.iter().copied().filter(|id| !still.contains(id)).collect();
        self.remove(&decided).await
    }

    /// Takes items out of the stream.
    async fn remove(&self, ids: &[CommentId]) -> DomainResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.redis.connection().await?;
        let [stream, entries, _] = self.keys();
        let script = Script::new(DONE);
        let mut invocation = script.prepare_invoke();
        invocation.key(stream).key(entries).arg(GROUP);
        for id in ids {
            invocation.arg(id.get());
        }
        let done: Result<i64, _> = invocation.invoke_async(&mut conn).await;
        done.map(|_| ()).map_err(|e| self.redis.failed(&e))
    }

    /// The comments waiting for a moderator, oldest first.
    async fn waiting(&self) -> DomainResult<Vec<CommentId>> {
        comment::Entity::find()
            .select_only()
            .column(comment::Column::Id)
            .filter(waits_for_moderator())
            .order_by_asc(comment::Column::Id)
            .into_tuple::<i64>()
            .all(self.db.conn())
            .await
            .map(|ids| ids.into_iter().map(CommentId::new).collect())
            .map_err(db_error)
    }

    /// Re-adds every comment waiting for a moderator, then marks the queue as built.
    pub async fn rebuild(&self) -> DomainResult<usize> {
        let waiting = self.waiting().await?;
        self.rebuild_from(&waiting).await
    }

    /// The second half of a rebuild: adds what the first half read.
    async fn rebuild_from(&self, waiting: &[CommentId]) -> DomainResult<usize> {
        for chunk in waiting.chunks(REBUILD_CHUNK) {
            self.add(chunk).await?;
        }
        let mut conn = self.redis.connection().await?;
        let [_, _, marker] = self.keys();
        let set: Result<(), _> = redis::cmd("SET").arg(marker).arg(1).query_async(&mut conn).await;
        set.map_err(|e| self.redis.failed(&e))?;
        tracing::info!(items = waiting.len(), "moderation queue rebuilt from the database");
        Ok(waiting.len())
    }

    async fn try_claim(&self, moderator: StaffId, count: usize) -> Result<Vec<CommentId>, redis::RedisError> {
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
            .arg(consumer(moderator))
            .arg(count)
            .arg(self.leases.lease().num_milliseconds().max(1))
            .invoke_async(&mut conn)
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| id.parse().ok())
            .map(CommentId::new)
            .collect())
    }

    /// Reads up to `count` items from Redis, rebuilding the stream when it was lost.
    async fn read(&self, moderator: StaffId, count: usize) -> DomainResult<Vec<CommentId>> {
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

    /// Claims through Redis: items read are handed out only if the database grants
    /// their lease; the others are deferred until their holder's lease ends, and more
    /// are read in their place.
    async fn claim_through_redis(&self, moderator: StaffId, count: usize) -> DomainResult<Vec<CommentId>> {
        let mut leased = Vec::new();
        for round in 0..CLAIM_ROUNDS {
            let want = count - leased.len();
            // Counted from before the read, so that the database lease has ended when
            // Redis finds the item idle for a lease.
            let from = self.leases.now();
            let read = match self.read(moderator, want).await {
                Ok(read) => read,
                // What this claim already leased is the moderator's: hand it out.
                Err(_) if round > 0 => break,
                Err(err) => return Err(err),
            };
            let granted = self.leases.lease_chosen(moderator, &read, from).await?;
            let refused: Vec<CommentId> = read.iter().copied().filter(|id| !granted.contains(id)).collect();
            if let Err(err) = self.defer(moderator, &refused).await {
                tracing::warn!(error = %err, "moderation items held by others not deferred");
            }
            leased.extend(granted);
            if read.len() < want || leased.len() >= count {
                break;
            }
        }
        Ok(leased)
    }

    /// Leaves items read by `moderator` but leased to others idle for what remains of
    /// that lease short of a whole one, so that Redis offers them again when it ends.
    async fn defer(&self, moderator: StaffId, refused: &[CommentId]) -> DomainResult<()> {
        if refused.is_empty() {
            return Ok(());
        }
        let ends = self.leases.lease_ends(refused).await?;
        let now = self.leases.now();
        let lease = self.leases.lease();
        let mut conn = self.redis.connection().await?;
        let [stream, entries, _] = self.keys();
        let script = Script::new(DEFER);
        let mut invocation = script.prepare_invoke();
        invocation.key(stream).key(entries).arg(GROUP).arg(consumer(moderator));
        for id in refused {
            let left = ends
                .iter()
                .find(|(leased, _)| leased == id)
                .map_or(Duration::zero(), |(_, end)| *end - now)
                .clamp(Duration::zero(), lease);
            invocation.arg(id.get()).arg((lease - left).num_milliseconds());
        }
        let deferred: Result<i64, _> = invocation.invoke_async(&mut conn).await;
        deferred.map(|_| ()).map_err(|e| self.redis.failed(&e))
    }
}

/// A moderator's consumer name in the group.
fn consumer(moderator: StaffId) -> String {
    format!("moderator-{moderator}")
}

/// Whether the scripts answered that the queue must be built first (their error code,
/// the first word of the error reply).
fn needs_rebuild(err: &redis::RedisError) -> bool {
    err.code() == Some(REBUILD)
}

#[async_trait]
impl ModerationQueue for RedisQueue {
    async fn claim(&self, moderator: StaffId, count: u64) -> DomainResult<Vec<CommentId>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let want = usize::try_from(count).unwrap_or(usize::MAX);
        match self.claim_through_redis(moderator, want).await {
            Ok(ids) => Ok(ids),
            Err(err) => {
                // Redis down (or failing): the database holds every waiting comment and
                // every lease, so it can hand out items alone.
                tracing::debug!(error = %err, "moderation items claimed from the database");
                self.leases.claim(moderator, count).await
            }
        }
    }

    async fn done(&self, id: CommentId) -> DomainResult<()> {
        let released = self.leases.done(id).await;
        let removed = self.remove(&[id]).await;
        released.and(removed)
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
        let epoch = self.redis.epoch();
        let stale = self
            .rebuilt
            .lock()
            .map(|last| last.is_none_or(|(at, then)| then != epoch || at.elapsed() >= REBUILD_EVERY))
            .unwrap_or(true);
        if !built.map_err(|e| self.redis.failed(&e))? || stale {
            let started = std::time::Instant::now();
            // Adding an item twice does nothing, so rebuilding is always safe.
            self.rebuild().await?;
            if let Ok(mut last) = self.rebuilt.lock() {
                *last = Some((started, epoch));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
