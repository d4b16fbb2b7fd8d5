//! Leases in the database: the whole moderation queue when there is no Redis (the
//! embedded default, one process on SQLite, and PostgreSQL without Redis work alike),
//! and with Redis the record of every lease, so that no item is leased twice while
//! Redis is down, nor when it comes back having lost its own.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use mati_domain::DomainResult;
use mati_domain::clock::Clock;
use mati_domain::comment::{CommentId, StaffId};
use mati_domain::ports::ModerationQueue;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter, Statement,
    TransactionTrait,
};

use super::QueueBackend;
use crate::Db;
use crate::db::entity::moderation_lease;
use crate::db::{db_error, detached};

/// Leases in the database.
pub struct SqlQueue {
    db: Db,
    clock: Arc<dyn Clock>,
    lease: Duration,
}

impl SqlQueue {
    /// A queue whose leases last `lease`.
    pub fn new(db: Db, clock: Arc<dyn Clock>, lease: Duration) -> Self {
        Self { db, clock, lease }
    }

    /// The time leases are measured by.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// How long a lease lasts.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Leases those of `ids` that no one holds to `moderator`, for a lease counted from
    /// `from`; the ones leased. Another queue (Redis) chose them.
    pub async fn lease_chosen(
        &self,
        moderator: StaffId,
        ids: &[CommentId],
        from: DateTime<Utc>,
    ) -> DomainResult<Vec<CommentId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (db, ids, until, now) = (self.db.clone(), ids.to_vec(), from + self.lease, self.clock.now());
        let result: Result<Vec<CommentId>, DbErr> = detached(async move {
            let _write = db.write_guard().await;
            let txn = db.conn().begin().await?;
            let leased = take(&txn, moderator, &ids, until, now).await?;
            txn.commit().await?;
            Ok(leased)
        })
        .await;
        result.map_err(db_error)
    }

    /// When the live leases of `ids` end (items without one left out).
    pub async fn lease_ends(&self, ids: &[CommentId]) -> DomainResult<Vec<(CommentId, DateTime<Utc>)>> {
        let rows = moderation_lease::Entity::find()
            .filter(moderation_lease::Column::CommentId.is_in(ids.iter().map(|id| id.get())))
            .filter(moderation_lease::Column::ExpiresAt.gte(self.clock.now()))
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|row| (CommentId::new(row.comment_id), row.expires_at))
            .collect())
    }
}

fn claimable(backend: DbBackend) -> &'static str {
    match backend {
        // Rows another replica is leasing right now are skipped, not waited for.
        DbBackend::Postgres => {
            "SELECT c.id FROM comments c LEFT JOIN moderation_leases l ON l.comment_id = c.id \
             WHERE (c.status = 'PENDING' OR c.hidden) AND (l.comment_id IS NULL OR l.expires_at < $1) \
             ORDER BY c.id LIMIT $2 FOR UPDATE OF c SKIP LOCKED"
        }
        _ => {
            "SELECT c.id FROM comments c LEFT JOIN moderation_leases l ON l.comment_id = c.id \
             WHERE (c.status = 'PENDING' OR c.hidden) AND (l.comment_id IS NULL OR l.expires_at < ?) \
             ORDER BY c.id LIMIT ?"
        }
    }
}

/// Leases each of `ids` to `moderator` until `until`, unless a lease on it is live at
/// `now`; the ones leased. Two moderators (or replicas) that picked the same item each
/// try, and only one gets a row back.
async fn take(
    txn: &DatabaseTransaction,
    moderator: StaffId,
    ids: &[CommentId],
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<CommentId>, DbErr> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO moderation_leases (comment_id, moderator_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (comment_id) DO UPDATE SET moderator_id = excluded.moderator_id, \
             expires_at = excluded.expires_at WHERE moderation_leases.expires_at < $4 RETURNING comment_id"
        }
        _ => {
            "INSERT INTO moderation_leases (comment_id, moderator_id, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (comment_id) DO UPDATE SET moderator_id = excluded.moderator_id, \
             expires_at = excluded.expires_at WHERE moderation_leases.expires_at < ? RETURNING comment_id"
        }
    };
    let mut leased = Vec::with_capacity(ids.len());
    for id in ids {
        let values = [id.get().into(), moderator.get().into(), until.into(), now.into()];
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        if row.is_some() {
            leased.push(*id);
        }
    }
    Ok(leased)
}

#[async_trait]
impl ModerationQueue for SqlQueue {
    async fn claim(&self, moderator: StaffId, count: u64) -> DomainResult<Vec<CommentId>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let (db, now, lease) = (self.db.clone(), self.clock.now(), self.lease);
        let result: Result<Vec<CommentId>, DbErr> = detached(async move {
            let _write = db.write_guard().await;
            let txn = db.conn().begin().await?;
            let backend = db.backend();
            let limit = i64::try_from(count).unwrap_or(i64::MAX);
            let select = Statement::from_sql_and_values(backend, claimable(backend), [now.into(), limit.into()]);
            let rows = txn.query_all_raw(select).await?;
            let ids = rows
                .iter()
                .map(|row| row.try_get_by_index::<i64>(0).map(CommentId::new))
                .collect::<Result<Vec<_>, _>>()?;
            let leased = take(&txn, moderator, &ids, now + lease, now).await?;
            txn.commit().await?;
            Ok(leased)
        })
        .await;
        result.map_err(db_error)
    }

    async fn done(&self, id: CommentId) -> DomainResult<()> {
        let _write = self.db.write_guard().await;
        moderation_lease::Entity::delete_many()
            .filter(moderation_lease::Column::CommentId.eq(id.get()))
            .exec(self.db.conn())
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

#[async_trait]
impl QueueBackend for SqlQueue {
    async fn enqueue(&self, _ids: &[CommentId]) -> DomainResult<()> {
        // The comments table is the queue; nothing to add.
        Ok(())
    }

    async fn maintain(&self) -> DomainResult<()> {
        Ok(())
    }
}
