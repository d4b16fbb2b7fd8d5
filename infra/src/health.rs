//! The health port: whether the database answers, the last state of Redis and of the
//! read replica, the statements run, the pools' connections and the backlog.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mati_domain::DomainResult;
use mati_domain::ports::{Backlog, Health, PoolUse, ReplicaHealth};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{EntityTrait, QueryFilter, QuerySelect};

use crate::Db;
use crate::db::db_error;
use crate::db::entity::{comment, outbox};
use crate::db::replica::ReadReplica;
use crate::redis::Redis;
use crate::repo::{self, awaiting_moderation};

/// Longest wait for the database to answer a readiness check.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The server's dependencies.
pub struct Dependencies {
    db: Db,
    monitor: Db,
    redis: Option<Redis>,
    replica: Option<Arc<ReadReplica>>,
}

impl Dependencies {
    /// Over the server's pool, Redis and the read replica, when configured; the backlog
    /// counted on `monitor`.
    pub fn new(db: Db, monitor: Db, redis: Option<Redis>, replica: Option<Arc<ReadReplica>>) -> Self {
        Self {
            db,
            monitor,
            redis,
            replica,
        }
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
        self.db.statements() + self.replica.as_ref().map_or(0, |replica| replica.statements())
    }

    fn read_replica(&self) -> Option<ReplicaHealth> {
        self.replica.as_ref().map(|replica| replica.health())
    }

    async fn backlog(&self, now: DateTime<Utc>) -> DomainResult<Backlog> {
        let (awaiting_moderation, oldest_awaiting) = count_and_oldest(
            comment::Entity::find()
                .filter(awaiting_moderation())
                .select_only()
                .column_as(Expr::col(comment::Column::Id).count(), "n")
                .column_as(Expr::col(comment::Column::CreatedAt).min(), "oldest"),
            &self.monitor,
        )
        .await?;
        let (overdue, _) = count_and_oldest(
            comment::Entity::find()
                .filter(repo::overdue(now))
                .select_only()
                .column_as(Expr::col(comment::Column::Id).count(), "n")
                .column_as(Expr::col(comment::Column::DueAt).min(), "oldest"),
            &self.monitor,
        )
        .await?;
        let (outbox, oldest_outbox) = count_and_oldest(
            outbox::Entity::find()
                .select_only()
                .column_as(Expr::col(outbox::Column::Id).count(), "n")
                .column_as(Expr::col(outbox::Column::CreatedAt).min(), "oldest"),
            &self.monitor,
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
        let used = |pool: &'static str, db: &Db| {
            let (idle, in_use, max) = db.pool_use();
            PoolUse {
                pool,
                idle,
                in_use,
                max,
            }
        };
        let mut pools = vec![used("primary", &self.db)];
        pools.extend(self.replica.as_ref().map(|replica| used("read", replica.db())));
        pools
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
