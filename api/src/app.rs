//! Wiring: settings → database → services → schema → HTTP server.

use std::sync::Arc;

use anyhow::Context;
use mati_domain::clock::Clock;
use mati_domain::service::{Mati, Rules};
use mati_infra::db::replica::ReplicaSettings;
use mati_infra::heavy::HeavyReadSettings;
use mati_infra::limits::Quotas;
use mati_infra::redis::RedisTarget;
use mati_infra::wiring::{self, Shared, SharedSettings};
use mati_infra::{Db, PoolSettings, bootstrap};
use tokio::net::TcpListener;

use crate::graphql::persisted::AllowList;
use crate::graphql::{self, Limits};
use crate::http::{self, AppState, SocketLimits, SocketSlots};
use crate::metrics::Metrics;
use crate::settings::{Environment, RedisEndpoint, Settings};
use crate::shutdown::{self, Shutdown};

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// A clock running `speed` times faster than the wall clock from the moment it starts,
/// so that deadlines of days pass in seconds in tests of the running binary.
pub struct FastClock {
    start: chrono::DateTime<chrono::Utc>,
    started: std::time::Instant,
    speed: u32,
}

impl FastClock {
    /// A clock starting now.
    pub fn new(speed: u32) -> Self {
        Self {
            start: chrono::Utc::now(),
            started: std::time::Instant::now(),
            speed,
        }
    }
}

impl Clock for FastClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let elapsed = self.started.elapsed() * self.speed;
        self.start + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
    }
}

fn clock(settings: &Settings) -> Arc<dyn Clock> {
    if settings.clock_speed > 1 {
        Arc::new(FastClock::new(settings.clock_speed))
    } else {
        Arc::new(SystemClock)
    }
}

/// Connects to the configured database for a one-off command (no statement timeout:
/// an import or a seed takes as long as it needs).
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let pool = PoolSettings {
        max_connections: settings.database.max_connections,
        acquire_timeout: settings.database.acquire_timeout,
        statement_timeout: None,
    };
    Db::connect(settings.database.url.expose(), &pool).await
}

/// A pool of the server: `max_connections`, with the configured statement timeout.
async fn server_pool(settings: &Settings, max_connections: u32) -> anyhow::Result<Db> {
    let pool = PoolSettings {
        max_connections,
        acquire_timeout: settings.database.acquire_timeout,
        statement_timeout: settings.database.statement_timeout,
    };
    Db::connect(settings.database.url.expose(), &pool).await
}

/// The read replica, when configured: a pool half the primary's (at least 2), as quick
/// to give up on a connection as the primary's but within a second (the primary answers
/// instead), with the same statement timeout.
fn read_replica(settings: &Settings) -> Option<ReplicaSettings> {
    let url = settings.database.read_url.as_ref()?;
    Some(ReplicaSettings {
        url: url.expose().to_owned(),
        pool: PoolSettings {
            max_connections: (settings.database.max_connections / 2).max(2),
            acquire_timeout: settings.database.acquire_timeout.min(std::time::Duration::from_secs(1)),
            statement_timeout: settings.database.statement_timeout,
        },
        max_lag: settings.database.read_max_lag,
    })
}

/// How the shared parts are configured.
pub fn shared_settings(settings: &Settings) -> SharedSettings {
    SharedSettings {
        redis: settings.redis.endpoint.as_ref().map(redis_target),
        redis_prefix: settings.redis.prefix.clone(),
        lease: chrono::Duration::from_std(settings.workflow.moderation_lease).unwrap_or(chrono::Duration::minutes(5)),
        quotas: Quotas::new(&settings.rate_limits),
        heavy_reads: HeavyReadSettings::running(settings.stats.max_concurrent),
        stats_cache: settings.stats.cache,
    }
}

/// Where infra finds Redis.
fn redis_target(endpoint: &RedisEndpoint) -> RedisTarget {
    match endpoint {
        RedisEndpoint::Url(url) => RedisTarget::Url(url.expose().to_owned()),
        RedisEndpoint::Sentinels { addresses, master } => RedisTarget::Sentinel {
            sentinels: addresses.clone(),
            master: master.clone(),
        },
    }
}

/// The tunable rules of the services, from the settings.
pub fn rules(settings: &Settings) -> Rules {
    Rules {
        citizen_session_idle: chrono::Duration::days(settings.workflow.citizen_session_idle_days.into()),
        min_group_size: settings.stats.min_group_size,
        ..Rules::default()
    }
}

/// The services over `db` with the shared parts.
pub fn services(db: Db, shared: &Shared, clock: Arc<dyn Clock>, rules: Rules) -> Mati {
    Mati::new(wiring::ports(db, clock, shared), rules)
}

/// The services for a one-off command: limits and queue in process, nothing relayed.
pub fn command_services(db: Db) -> anyhow::Result<Mati> {
    let shared = Shared::start(
        &db,
        Arc::new(SystemClock),
        &SharedSettings {
            redis: None,
            redis_prefix: String::new(),
            lease: chrono::Duration::minutes(5),
            quotas: Quotas::new(&Default::default()),
            heavy_reads: HeavyReadSettings::for_pool(4),
            stats_cache: std::time::Duration::ZERO,
        },
    )?;
    Ok(services(db, &shared, Arc::new(SystemClock), Rules::default()))
}

/// Runs the server until SIGINT or SIGTERM, then stops as [`crate::shutdown`] says:
/// `Ok` when everything in flight finished within the timeout.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let state = start(&settings).await?;
    let listener = TcpListener::bind(settings.http.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.http.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    // The one line on standard output that scripts and tests wait for.
    println!("listening on http://{address}");
    let shutdown = state.shutdown.clone();
    let app = http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let mut server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.stopping())
            .into_future(),
    );
    let signal = tokio::select! {
        signal = shutdown::signal() => signal,
        ended = &mut server => {
            // The listener failed on its own: nothing was asked to stop.
            ended.context("server task")?.context("server failed")?;
            anyhow::bail!("server stopped without a signal");
        }
    };
    shutdown.begin(signal, settings.http.shutdown_drain).await;
    let finished = async {
        let served = server.await;
        shutdown.mark_served();
        shutdown.finished().await;
        served
    };
    match tokio::time::timeout(settings.http.shutdown_timeout, finished).await {
        Ok(served) => {
            served.context("server task")?.context("server failed")?;
            tracing::info!("stopped");
            Ok(())
        }
        Err(_) => anyhow::bail!(
            "stopped after {} s with requests, sockets or background work unfinished (MATI_SHUTDOWN_TIMEOUT_SECS)",
            settings.http.shutdown_timeout.as_secs()
        ),
    }
}

/// Everything a server needs but its socket: the database prepared (migrated, categories
/// and gazetteer loaded), the shared parts and the background work (outbox relay,
/// escalation) started, and the state the router serves. Needs a Tokio runtime.
pub async fn start(settings: &Settings) -> anyhow::Result<AppState> {
    // Migrations and the first gazetteer load run without a statement timeout.
    let seeded = bootstrap::prepare(&connect(settings).await?).await?;
    let db = server_pool(settings, settings.database.max_connections).await?;
    if seeded.categories > 0 {
        tracing::info!(categories = seeded.categories, "categories loaded");
    }
    if let Some((report, defects)) = &seeded.gazetteer {
        tracing::info!(
            added = report.added,
            commune_centres = report.centres.unwrap_or_default(),
            skipped_defective_rows = defects,
            "gazetteer loaded"
        );
    }
    if seeded.centres_added > 0 {
        tracing::info!(commune_centres = seeded.centres_added, "commune centres loaded");
    }
    let clock = clock(settings);
    let mut shared = Shared::start(&db, clock.clone(), &shared_settings(settings))?;
    // Background work gets its own small pool, so it neither competes with requests for
    // connections nor shows in the statement count of requests.
    let background = server_pool(settings, 2).await?;
    shared.monitor_with(&background);
    if let Some(replica) = read_replica(settings) {
        shared.read_from(&replica, &background).await?;
    }
    let shutdown = Shutdown::new();
    let metrics = Arc::new(Metrics::new().context("metrics")?);
    // The relay's last round comes after the last request: a submission answered while
    // the server stops leaves its outbox row relayed, not waiting for the next start.
    shutdown.spawn(shared.relay(&background, shutdown.served()));
    shutdown.spawn(escalation(
        services(background, &shared, clock.clone(), rules(settings)),
        settings.workflow.escalation_interval,
        Arc::clone(&metrics),
        shutdown.stopping(),
    ));
    let mati = services(db.clone(), &shared, clock, rules(settings));
    let development = settings.environment == Environment::Development;
    let limits = Limits {
        depth: settings.graphql.max_query_depth,
        complexity: settings.graphql.max_query_complexity,
        introspection: development,
    };
    let state = AppState {
        schema: graphql::build_schema(mati.clone(), limits, Arc::clone(&metrics)),
        mati,
        graphiql: development,
        trusted_proxies: Arc::new(settings.http.trusted_proxies.clone()),
        shape: settings.graphql.shape,
        max_batch: settings.graphql.max_batch,
        allow_list: match &settings.graphql.allowed_queries {
            Some(path) => Some(Arc::new(AllowList::load(path).context("MATI_ALLOWED_QUERIES")?)),
            None => None,
        },
        sockets: SocketLimits {
            slots: SocketSlots::new(settings.http.max_websockets_per_address),
            init_timeout: settings.http.websocket_init_timeout,
        },
        shutdown,
        metrics,
    };
    Ok(state)
}

/// Escalates overdue comments every `interval` until `stop` completes, on every replica;
/// the domain makes sure each comment is escalated once per level whoever runs it. A
/// round under way when the server stops is finished.
async fn escalation(mati: Mati, interval: std::time::Duration, metrics: Arc<Metrics>, stop: impl Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(interval) => {}
        }
        match mati.escalate_overdue().await {
            Ok(escalated) if !escalated.is_empty() => {
                metrics.escalated(escalated.len());
                tracing::info!(count = escalated.len(), "comments escalated");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "escalation postponed"),
        }
    }
}
