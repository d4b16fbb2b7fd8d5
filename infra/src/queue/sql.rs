//! The in-process moderation queue: pending comments leased through a table, so that
//! the embedded default (one process, SQLite) and PostgreSQL without Redis work alike.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use mati_domain::DomainResult;
use mati_domain::clock::Clock;
use mati_domain::comment::{CommentId, StaffId};
use mati_domain::ports::ModerationQueue;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, TransactionTrait};

use super::QueueBackend;
use crate::Db;
use crate::db::db_error;
use crate::db::entity::moderation_lease;

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

#[async_trait]
impl ModerationQueue for SqlQueue {
    async fn claim(&self, moderator: StaffId, count: u64) -> DomainResult<Vec<CommentId>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let _write = self.db.write_guard().await;
        let result: Result<Vec<CommentId>, sea_orm::DbErr> = async {
            let txn = self.db.conn().begin().await?;
            let backend = self.db.backend();
            let limit = i64::try_from(count).unwrap_or(i64::MAX);
            let select = Statement::from_sql_and_values(backend, claimable(backend), [now.into(), limit.into()]);
            let rows = txn.query_all_raw(select).await?;
            let ids = rows
                .iter()
                .map(|row| row.try_get_by_index::<i64>(0))
                .collect::<Result<Vec<_>, _>>()?;
            // A lease is taken only if none is live: two replicas that picked the same
            // row each try, and only one gets a row back.
            let take = match backend {
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
                let values = [id.into(), moderator.into(), (now + self.lease).into(), now.into()];
                let row = txn
                    .query_one_raw(Statement::from_sql_and_values(backend, take, values))
                    .await?;
                if row.is_some() {
                    leased.push(id);
                }
            }
            let ids = leased;
            txn.commit().await?;
            Ok(ids)
        }
        .await;
        result.map_err(db_error)
    }

    async fn done(&self, id: CommentId) -> DomainResult<()> {
        let _write = self.db.write_guard().await;
        moderation_lease::Entity::delete_many()
            .filter(moderation_lease::Column::CommentId.eq(id))
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
