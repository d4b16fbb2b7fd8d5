//! Readiness and metrics: what the server depends on, as the health port reports it.

use super::Mati;
use crate::DomainResult;
use crate::ports::{Backlog, PoolUse, ReplicaHealth, ReplicaState};

/// What the server's dependencies answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// Whether the database answered.
    pub database: bool,
    /// Whether Redis answered; none when there is no Redis.
    pub redis: Option<bool>,
    /// The read replica as last checked; none when there is none.
    pub read_replica: Option<ReplicaHealth>,
}

impl Readiness {
    /// Whether something the server depends on is missing. Without Redis, limits fall
    /// back to this process and the queue to the database; without the read replica
    /// (unreachable or lagging), its reads go to the primary: degraded, still serving.
    pub fn degraded(&self) -> bool {
        !self.database
            || self.redis == Some(false)
            || self
                .read_replica
                .is_some_and(|replica| replica.state != ReplicaState::Ok)
    }
}

impl Mati {
    /// Asks the database, and reads the last state of Redis and of the read replica.
    pub async fn readiness(&self) -> Readiness {
        Readiness {
            database: self.ports.health.database().await,
            redis: self.ports.health.redis(),
            read_replica: self.ports.health.read_replica(),
        }
    }

    /// Whether Redis answered its last contact; none when there is no Redis.
    pub fn redis_reachable(&self) -> Option<bool> {
        self.ports.health.redis()
    }

    /// The read replica as last checked (its state and lag); none when there is none.
    pub fn read_replica(&self) -> Option<ReplicaHealth> {
        self.ports.health.read_replica()
    }

    /// SQL statements this process has run.
    pub fn statements_run(&self) -> u64 {
        self.ports.health.statements()
    }

    /// The work waiting now: moderation, overdue answers, the outbox.
    pub async fn backlog(&self) -> DomainResult<Backlog> {
        self.ports.health.backlog(self.ports.clock.now()).await
    }

    /// How the connection pools are used: `primary`, and `read` when there is a read
    /// replica.
    pub fn pools(&self) -> Vec<PoolUse> {
        self.ports.health.pools()
    }
}
