//! Redis: what replicas share (rate limits, the moderation queue, live events). Redis
//! holds nothing that cannot be rebuilt from the database, and Mati keeps serving when
//! it is down: every call is bounded by short timeouts, failures mark it unhealthy, and
//! a background ping marks it healthy again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mati_domain::DomainError;
use redis::Client;
use redis::aio::ConnectionManager;
use tokio::sync::RwLock;

/// No request waits longer than this for Redis.
pub const TIMEOUT: Duration = Duration::from_millis(500);
/// How often an unhealthy Redis is pinged.
const PING_EVERY: Duration = Duration::from_secs(1);

/// A shared handle on Redis.
#[derive(Clone)]
pub struct Redis {
    client: Client,
    manager: Arc<RwLock<Option<ConnectionManager>>>,
    healthy: Arc<AtomicBool>,
    prefix: String,
}

impl Redis {
    /// Opens `url` without waiting for Redis: when it is down, Mati starts degraded and
    /// connects once it answers. `prefix` namespaces every key of this deployment.
    pub fn open(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = Client::open(url)?;
        let redis = Self {
            client,
            manager: Arc::new(RwLock::new(None)),
            healthy: Arc::new(AtomicBool::new(false)),
            prefix: prefix.to_owned(),
        };
        tokio::spawn(redis.clone().watch());
        Ok(redis)
    }

    /// A key of this deployment.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// Whether the last contact with Redis succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// The client, for dedicated connections (pub/sub).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A connection, or an error at once when Redis is known to be down.
    pub async fn connection(&self) -> Result<ConnectionManager, DomainError> {
        if !self.is_healthy() {
            return Err(DomainError::Unavailable("redis is unreachable".into()));
        }
        self.manager
            .read()
            .await
            .clone()
            .ok_or_else(|| DomainError::Unavailable("redis is not connected yet".into()))
    }

    /// Records a failed call: Redis counts as down until the next successful ping.
    pub fn failed(&self, err: &redis::RedisError) -> DomainError {
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::warn!(error = %err, "redis unreachable; falling back to local limits");
        }
        DomainError::Unavailable(format!("redis: {err}"))
    }

    async fn connect(&self) -> redis::RedisResult<ConnectionManager> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        ConnectionManager::new_with_config(self.client.clone(), config).await
    }

    async fn ping(&self) -> bool {
        let current = self.manager.read().await.clone();
        let mut manager = match current {
            Some(manager) => manager,
            None => match self.connect().await {
                Ok(manager) => {
                    *self.manager.write().await = Some(manager.clone());
                    manager
                }
                Err(_) => return false,
            },
        };
        let pong: Result<Result<String, _>, _> =
            tokio::time::timeout(TIMEOUT, redis::cmd("PING").query_async(&mut manager)).await;
        matches!(pong, Ok(Ok(_)))
    }

    /// Pings Redis for ever, flipping the health flag.
    async fn watch(self) {
        loop {
            let alive = self.ping().await;
            let was = self.healthy.swap(alive, Ordering::Relaxed);
            match (was, alive) {
                (false, true) => tracing::info!("redis reachable"),
                (true, false) => tracing::warn!("redis unreachable; falling back to local limits"),
                _ => {}
            }
            tokio::time::sleep(PING_EVERY).await;
        }
    }
}
