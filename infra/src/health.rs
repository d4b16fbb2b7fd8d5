//! The health port: whether the database answers, Redis' last state, the statements run.

use std::time::Duration;

use async_trait::async_trait;
use mati_domain::ports::Health;

use crate::Db;
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
}
