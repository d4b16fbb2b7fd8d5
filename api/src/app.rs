//! Wiring: settings → database → services → schema → HTTP server.

use std::sync::Arc;

use anyhow::Context;
use mati_domain::clock::Clock;
use mati_domain::service::{Mati, Rules};
use mati_infra::limits::Quotas;
use mati_infra::repo::{Shared, SharedSettings};
use mati_infra::{Db, PoolSettings, bootstrap, repo};
use tokio::net::TcpListener;

use crate::graphql::{self, Limits};
use crate::http::{self, AppState};
use crate::settings::{Environment, Settings};

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// Connects to the configured database.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let pool = PoolSettings {
        max_connections: settings.database_max_connections,
        acquire_timeout: settings.database_acquire_timeout,
    };
    Db::connect(settings.database_url.expose(), &pool).await
}

/// How the shared parts are configured.
pub fn shared_settings(settings: &Settings) -> SharedSettings {
    SharedSettings {
        redis_url: settings.redis_url.as_ref().map(|url| url.expose().to_owned()),
        redis_prefix: settings.redis_prefix.clone(),
        lease: chrono::Duration::from_std(settings.moderation_lease).unwrap_or(chrono::Duration::minutes(5)),
        quotas: Quotas::new(&settings.rate_limits),
    }
}

/// The services over `db` with the shared parts.
pub fn services(db: Db, shared: &Shared) -> Mati {
    Mati::new(repo::ports(db, Arc::new(SystemClock), shared), Rules::default())
}

/// The services for a one-off command: limits and queue in process, nothing relayed.
pub fn command_services(db: Db) -> anyhow::Result<Mati> {
    let shared = Shared::start(
        &db,
        Arc::new(SystemClock),
        &SharedSettings {
            redis_url: None,
            redis_prefix: String::new(),
            lease: chrono::Duration::minutes(5),
            quotas: Quotas::new(&Default::default()),
        },
    )?;
    Ok(services(db, &shared))
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let db = connect(&settings).await?;
    let seeded = bootstrap::prepare(&db).await?;
    if seeded.categories > 0 {
        tracing::info!(categories = seeded.categories, "categories loaded");
    }
    if let Some((report, defects)) = &seeded.gazetteer {
        tracing::info!(
            added = report.added,
            skipped_defective_rows = defects,
            "gazetteer loaded"
        );
    }
    let shared = Shared::start(&db, Arc::new(SystemClock), &shared_settings(&settings))?;
    // Background work gets its own small pool, so it neither competes with requests for
    // connections nor shows in the statement count of requests.
    let background = Db::connect(
        settings.database_url.expose(),
        &PoolSettings {
            max_connections: 2,
            acquire_timeout: settings.database_acquire_timeout,
        },
    )
    .await?;
    shared.spawn_relay(&background);
    let mati = services(db.clone(), &shared);
    let development = settings.environment == Environment::Development;
    let limits = Limits {
        depth: settings.max_query_depth,
        complexity: settings.max_query_complexity,
        introspection: development,
    };
    let state = AppState {
        schema: graphql::build_schema(mati.clone(), shared.bus.clone(), limits),
        mati,
        db,
        graphiql: development,
        trusted_proxies: Arc::new(settings.trusted_proxies.clone()),
        redis: shared.redis.clone(),
    };
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    // The one line on standard output that scripts and tests wait for.
    println!("listening on http://{address}");
    let app = http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .context("server failed")
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
