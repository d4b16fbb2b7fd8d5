//! Redis: what replicas share (rate limits, the moderation queue, live events). Redis
//! holds nothing that cannot be rebuilt from the database, and Mati keeps serving when
//! it is down: every call is bounded by short timeouts, failures mark it unhealthy, and
//! a background ping marks it healthy again.
//!
//! Redis is one server at a URL, or whichever server a set of Sentinels names master.
//! With Sentinel, each ping asks the server its role and the sentinels which server is
//! master: it counts as healthy only while it answers as master (a demoted one answers
//! as a replica, and its writes get `READONLY`), and the connection moves as soon as the
//! sentinels name another master that answers as one. Each move starts a new *epoch*:
//! what the new master lacks (replication is asynchronous, so the last writes the old
//! one acknowledged may be gone) is put back by those who watch the epoch (the
//! moderation queue, the live-events listener).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mati_domain::DomainError;
use redis::aio::{ConnectionManager, PubSub};
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{Client, ConnectionAddr, Role};
use tokio::sync::{Mutex, RwLock, watch};

/// No request waits longer than this for Redis.
pub const TIMEOUT: Duration = Duration::from_millis(500);
/// How often Redis is pinged (and, with Sentinel, asked its role, and the sentinels the
/// master).
const PING_EVERY: Duration = Duration::from_secs(1);
/// Longest wait for the sentinels to name a master and for it to accept a connection.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where Redis is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server: `redis://HOST:PORT`.
    Url(String),
    /// The master that these sentinels (host, port) monitor under `master`.
    Sentinel {
        /// The sentinels' addresses.
        sentinels: Vec<(String, u16)>,
        /// The name they monitor the master under.
        master: String,
    },
}

/// How the server to talk to is found.
enum Source {
    /// Always the same; the connection manager reconnects to it by itself.
    Fixed(Client),
    /// Asked of the sentinels at every ping.
    Sentinel(Mutex<SentinelClient>),
}

/// The server talked to now: its client (for dedicated pub/sub connections) and the
/// shared connection.
#[derive(Clone)]
struct Link {
    client: Client,
    manager: ConnectionManager,
}

/// A shared handle on Redis.
#[derive(Clone)]
pub struct Redis {
    source: Arc<Source>,
    link: Arc<RwLock<Option<Link>>>,
    healthy: Arc<AtomicBool>,
    epoch: Arc<watch::Sender<u64>>,
    prefix: String,
}

impl Redis {
    /// Opens `url` without waiting for Redis: when it is down, Mati starts degraded and
    /// connects once it answers. `prefix` namespaces every key of this deployment.
    pub fn open(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Self::start(&RedisTarget::Url(url.to_owned()), prefix)
    }

    /// Opens `target` without waiting for it, as [`Redis::open`] does.
    pub fn start(target: &RedisTarget, prefix: &str) -> anyhow::Result<Self> {
        let source = match target {
            RedisTarget::Url(url) => Source::Fixed(Client::open(url.as_str())?),
            RedisTarget::Sentinel { sentinels, master } => {
                anyhow::ensure!(!sentinels.is_empty(), "no sentinel to ask for the Redis master");
                let addresses = sentinels
                    .iter()
                    .map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port))
                    .collect();
                let client = SentinelClient::build(addresses, master.clone(), None, SentinelServerType::Master)?;
                Source::Sentinel(Mutex::new(client))
            }
        };
        let redis = Self {
            source: Arc::new(source),
            link: Arc::new(RwLock::new(None)),
            healthy: Arc::new(AtomicBool::new(false)),
            epoch: Arc::new(watch::Sender::new(0)),
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

    /// How many times a connection to a server was set up: it changes when Mati moves
    /// to another master, after which Redis may lack the last writes made to the old one.
    pub fn epoch(&self) -> u64 {
        *self.epoch.borrow()
    }

    /// The epoch, to wait for its next change.
    pub fn epochs(&self) -> watch::Receiver<u64> {
        self.epoch.subscribe()
    }

    /// A dedicated pub/sub connection to the server talked to now.
    pub async fn pubsub(&self) -> redis::RedisResult<PubSub> {
        let client = match (&*self.source, self.link.read().await.as_ref()) {
            (_, Some(link)) => link.client.clone(),
            (Source::Fixed(client), None) => client.clone(),
            (Source::Sentinel(_), None) => {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "no Redis master found yet",
                )));
            }
        };
        client.get_async_pubsub().await
    }

    /// A connection, or an error at once when Redis is known to be down.
    pub async fn connection(&self) -> Result<ConnectionManager, DomainError> {
        if !self.is_healthy() {
            return Err(DomainError::Unavailable("redis is unreachable".into()));
        }
        self.link
            .read()
            .await
            .as_ref()
            .map(|link| link.manager.clone())
            .ok_or_else(|| DomainError::Unavailable("redis is not connected yet".into()))
    }

    /// Records a failed call (unreachable, or `READONLY` from a master a failover
    /// demoted): Redis counts as down until the next successful ping, which with
    /// Sentinel finds the master anew.
    pub fn failed(&self, err: &redis::RedisError) -> DomainError {
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::warn!(error = %err, "redis unreachable; falling back to local limits");
        }
        DomainError::Unavailable(format!("redis: {err}"))
    }

    /// A shared connection to the server of `client`.
    async fn connect(client: Client) -> redis::RedisResult<Link> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let manager = ConnectionManager::new_with_config(client.clone(), config).await?;
        Ok(Link { client, manager })
    }

    /// Whether the server behind `link` answers, and with Sentinel, as master.
    async fn answers(&self, link: &Link) -> bool {
        let mut manager = link.manager.clone();
        match &*self.source {
            Source::Fixed(_) => {
                let ping = redis::cmd("PING");
                let pong = ping.query_async::<String>(&mut manager);
                matches!(tokio::time::timeout(TIMEOUT, pong).await, Ok(Ok(_)))
            }
            Source::Sentinel(_) => {
                let ask = redis::cmd("ROLE");
                let role = ask.query_async::<Role>(&mut manager);
                matches!(tokio::time::timeout(TIMEOUT, role).await, Ok(Ok(Role::Primary { .. })))
            }
        }
    }

    /// Whether Redis answers (as master, with Sentinel); sets up the link first when
    /// there is none, and with Sentinel moves it to the master the sentinels name.
    async fn ping(&self) -> bool {
        let current = self.link.read().await.clone();
        match &*self.source {
            Source::Fixed(client) => match current {
                // The manager reconnects to the one server by itself.
                Some(link) => self.answers(&link).await,
                None => match Self::connect(client.clone()).await {
                    Ok(link) => self.install(link, false).await,
                    Err(_) => false,
                },
            },
            Source::Sentinel(sentinels) => {
                let answers = match &current {
                    Some(link) => self.answers(link).await,
                    None => false,
                };
                // Asked every time, not only after a failure: a master the sentinels
                // replaced still answers as one until they demote it (seconds later), and
                // what it takes meanwhile is lost. The sentinels are asked on connections
                // kept open; the master they name is checked on a short one of its own.
                let named = async { sentinels.lock().await.async_get_client().await };
                let Ok(Ok(client)) = tokio::time::timeout(RESOLVE_TIMEOUT, named).await else {
                    // Sentinels unreachable, or the master they name does not answer as
                    // one: keep to the current master while it answers as one.
                    return answers;
                };
                let moved = current
                    .as_ref()
                    .is_none_or(|link| link.client.get_connection_info().addr() != client.get_connection_info().addr());
                if !moved {
                    return answers;
                }
                // Until the new master answers, none is used: the old one is on its way out.
                match tokio::time::timeout(RESOLVE_TIMEOUT, Self::connect(client)).await {
                    Ok(Ok(link)) => self.install(link, current.is_some()).await,
                    _ => false,
                }
            }
        }
    }

    /// Makes `link` the one used if it answers (as master, with Sentinel), starting a
    /// new epoch; whether it answered.
    async fn install(&self, link: Link, moved: bool) -> bool {
        if !self.answers(&link).await {
            return false;
        }
        if moved {
            tracing::warn!(
                master = %link.client.get_connection_info().addr(),
                "redis master changed; following it"
            );
        }
        *self.link.write().await = Some(link);
        self.epoch.send_modify(|epoch| *epoch += 1);
        true
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
