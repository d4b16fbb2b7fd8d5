//! The health port: whether the database answers, Redis' last state, the statements run.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mati_domain::DomainResult;
use mati_domain::comment::CommentStatus;
use mati_domain::ports::{Backlog, Health, PoolUse};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::Db;
use crate::db::db_error;
use crate::db::entity::{comment, outbox};
use crate::redis::Redis;

/// Longest wait for the database to answer a readiness check.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The server's dependencies.
pub struct Dependencies {
    db: Db,
    redis: Option<Redis>,
}

impl Dependencies {
    /// Over the server's pool and Redis, when configured.
    pub fn new(db: Db, redis: Option<Redis>) -> Self {
        Self { db, redis }
    }
}

#[async_trait]
impl Health for Dependencies {
    async fn database(&self) -> bool {
        matches!(tokio::time::timeout(PING_TIMEOUT, self.db.ping()).await, Ok(Ok(())))
    }

    fn redis(&self) -> Option<bool> {
        self.redis.as_ref().map(Redis::is_healthy)
    }

    fn statements(&self) -> u64 {
        self.db.statements()
    }

    async fn backlog(&self, now: DateTime<Utc>) -> DomainResult<Backlog> {
        let (awaiting_moderation, oldest_awaiting) = count_and_oldest(
            comment::Entity::find()
                .filter(comment::Column::Status.eq(CommentStatus::Pending.as_str()))
                .select_only()
                .column_as(Expr::col(comment::Column::Id).count(), "n")
                .column_as(Expr::col(comment::Column::CreatedAt).min(), "oldest"),
            &self.db,
        )
        .await?;
        // As escalation sees them: routed or acknowledged, unanswered, past the deadline.
        let (overdue, _) = count_and_oldest(
            comment::Entity::find()
                .filter(
                    comment::Column::Status
                        .is_in([CommentStatus::Routed.as_str(), CommentStatus::Acknowledged.as_str()]),
                )
                .filter(comment::Column::FirstResponseAt.is_null())
                .filter(comment::Column::DueAt.lt(now))
                .select_only()
                .column_as(Expr::col(comment::Column::Id).count(), "n")
                .column_as(Expr::col(comment::Column::DueAt).min(), "oldest"),
            &self.db,
        )
        .await?;
        let (outbox, oldest_outbox) = count_and_oldest(
            outbox::Entity::find()
                .select_only()
                .column_as(Expr::col(outbox::Column::Id).count(), "n")
                .column_as(Expr::col(outbox::Column::CreatedAt).min(), "oldest"),
            &self.db,
        )
        .await?;
        Ok(Backlog {
            awaiting_moderation,
            oldest_awaiting,
            overdue,
            outbox,
            oldest_outbox,
        })
    }

    fn pools(&self) -> Vec<PoolUse> {
        let (idle, in_use, max) = self.db.pool_use();
        vec![PoolUse {
            pool: "primary",
            idle,
            in_use,
            max,
        }]
    }
}

/// The count and the earliest time a query of `count(...) AS n, min(...) AS oldest` gives.
async fn count_and_oldest<E: EntityTrait>(
    select: sea_orm::Select<E>,
    db: &Db,
) -> DomainResult<(u64, Option<DateTime<Utc>>)> {
    let row: Option<(i64, Option<DateTime<Utc>>)> = select.into_tuple().one(db.conn()).await.map_err(db_error)?;
    let (count, oldest) = row.unwrap_or_default();
    Ok((u64::try_from(count).unwrap_or_default(), oldest))
}
