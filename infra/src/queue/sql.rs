//! The in-process moderation queue: pending comments leased through a table, so that
//! the embedded default (one process, SQLite) and PostgreSQL without Redis work alike.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use mati_domain::DomainResult;
use mati_domain::clock::Clock;
use mati_domain::comment::{CommentId, StaffId};
use mati_domain::ports::ModerationQueue;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, TransactionTrait,
};

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
            if !ids.is_empty() {
                let leases = ids.iter().map(|id| moderation_lease::ActiveModel {
                    comment_id: Set(*id),
                    moderator_id: Set(moderator),
                    expires_at: Set(now + self.lease),
                });
                moderation_lease::Entity::insert_many(leases)
                    .on_conflict(
                        OnConflict::column(moderation_lease::Column::CommentId)
                            .update_columns([
                                moderation_lease::Column::ModeratorId,
                                moderation_lease::Column::ExpiresAt,
                            ])
                            .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await?;
            }
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
