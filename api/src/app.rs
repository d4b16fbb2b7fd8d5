//! Wiring: settings → database → services → schema → HTTP server.

use std::sync::Arc;

use anyhow::Context;
use mati_domain::clock::Clock;
use mati_domain::service::{Mati, Rules};
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

/// The services over `db`.
pub fn services(db: Db) -> Mati {
    Mati::new(repo::ports(db, Arc::new(SystemClock)), Rules::default())
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
    let mati = services(db.clone());
    let development = settings.environment == Environment::Development;
    let limits = Limits {
        depth: settings.max_query_depth,
        complexity: settings.max_query_complexity,
        introspection: development,
    };
    let state = AppState {
        schema: graphql::build_schema(mati.clone(), limits),
        mati,
        db,
        graphiql: development,
    };
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    // The one line on standard output that scripts and tests wait for.
    println!("listening on http://{address}");
    axum::serve(listener, http::router(state))
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
