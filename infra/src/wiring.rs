//! Wiring: what replicas share (Redis, or this process when there is none) and every
//! port the domain needs, put together once for the server and for commands.

use std::sync::Arc;

use mati_domain::clock::Clock;
use mati_domain::ports::ModerationQueue;
use mati_domain::service::Ports;

use crate::Db;
use crate::db::replica::{self, ReadReplica, ReplicaSettings};
use crate::events::EventBus;
use crate::health::Dependencies;
use crate::heavy::{HeavyReadSettings, HeavyReads};
use crate::limits::{Limiter, Quotas};
use crate::outbox;
use crate::passwords::Argon2id;
use crate::queue::QueueBackend;
use crate::queue::redis_stream::RedisQueue;
use crate::queue::sql::SqlQueue;
use crate::redis::{Redis, RedisTarget};
use crate::repo::SqlStore;
use crate::statistics::SharedStatistics;

/// What is shared with other replicas (through Redis) or kept in process.
#[derive(Clone)]
pub struct Shared {
    /// Redis, when configured.
    pub redis: Option<Redis>,
    /// Rate limits.
    pub limiter: Arc<Limiter>,
    /// The moderation queue.
    pub queue: Arc<dyn QueueBackend>,
    /// Live notifications.
    pub bus: EventBus,
    /// How many heavy reads run at once, and wait.
    pub heavy_reads: HeavyReadSettings,
    /// How long statistics answers are shared.
    pub stats_cache: std::time::Duration,
    /// The read replica, when the server has one.
    pub replica: Option<Arc<ReadReplica>>,
    /// The pool that counts the backlog for metrics, when not the requests' own: a
    /// scrape's queries then neither take a request's connection nor show in the count
    /// of statements that requests run.
    pub monitor: Option<Db>,
}

/// How the shared parts are set up.
#[derive(Debug, Clone)]
pub struct SharedSettings {
    /// Redis (a URL, or sentinels); none runs everything in process.
    pub redis: Option<RedisTarget>,
    /// Prefix of every Redis key of this deployment.
    pub redis_prefix: String,
    /// How long a moderator keeps claimed items.
    pub lease: chrono::Duration,
    /// Rate-limit quotas.
    pub quotas: Quotas,
    /// How many heavy reads (statistics, counts) run at once, and wait.
    pub heavy_reads: HeavyReadSettings,
    /// How long a statistics answer is shared with those who ask the same again.
    pub stats_cache: std::time::Duration,
}

impl Shared {
    /// Sets up Redis (without waiting for it), the limiter, the queue and the event bus.
    pub fn start(db: &Db, clock: Arc<dyn Clock>, settings: &SharedSettings) -> anyhow::Result<Self> {
        let redis = settings
            .redis
            .as_ref()
            .map(|target| Redis::start(target, &settings.redis_prefix))
            .transpose()?;
        let queue: Arc<dyn QueueBackend> = match &redis {
            Some(redis) => Arc::new(RedisQueue::new(redis.clone(), db.clone(), clock, settings.lease)),
            None => Arc::new(SqlQueue::new(db.clone(), clock, settings.lease)),
        };
        Ok(Self {
            limiter: Arc::new(Limiter::new(settings.quotas.clone(), redis.clone())),
            bus: EventBus::new(redis.clone()),
            queue,
            redis,
            heavy_reads: settings.heavy_reads,
            stats_cache: settings.stats_cache,
            replica: None,
            monitor: None,
        })
    }
}

impl Shared {
    /// Relays the outbox to the queue until `stop` completes, then what is left (servers
    /// only: a short-lived command must not take rows it cannot finish).
    pub fn relay<S>(&self, db: &Db, stop: S) -> impl Future<Output = ()> + use<S>
    where
        S: Future<Output = ()>,
    {
        outbox::relay(db.clone(), self.queue.clone(), stop)
    }

    /// Counts the backlog for metrics on `db` (servers: their background pool).
    pub fn monitor_with(&mut self, db: &Db) {
        self.monitor = Some(db.clone());
    }

    /// Reads statistics and public listings from a read replica while it serves them,
    /// checked against `primary` every few seconds from now on (servers only: a command
    /// reads the primary).
    pub async fn read_from(&mut self, settings: &ReplicaSettings, primary: &Db) -> anyhow::Result<()> {
        let replica = Arc::new(ReadReplica::connect(settings).await?);
        replica::spawn_checks(Arc::clone(&replica), primary.clone());
        self.replica = Some(replica);
        Ok(())
    }
}

/// Every port the domain needs, backed by `db`, argon2id, `clock` and `shared`; heavy
/// reads bounded and statistics shared as `shared` was set up.
pub fn ports(db: Db, clock: Arc<dyn Clock>, shared: &Shared) -> Ports {
    let heavy = Arc::new(HeavyReads::new(shared.heavy_reads));
    let health = Arc::new(Dependencies::new(
        db.clone(),
        shared.monitor.clone().unwrap_or_else(|| db.clone()),
        shared.redis.clone(),
        shared.replica.clone(),
    ));
    let store = Arc::new(SqlStore::new(db, Arc::clone(&heavy)).reading_from(shared.replica.clone()));
    let statistics = SharedStatistics::new((*store).clone(), heavy, shared.stats_cache);
    let queue: Arc<dyn ModerationQueue> = shared.queue.clone();
    Ports {
        geography: store.clone(),
        categories: store.clone(),
        comments: store.clone(),
        statistics: Arc::new(statistics),
        accounts: store.clone(),
        deadlines: store,
        passwords: Arc::new(Argon2id),
        clock,
        limiter: shared.limiter.clone(),
        queue,
        notifier: Arc::new(shared.bus.clone()),
        health,
    }
}
