//! HTTP: `/graphql` (POST for operations, GET for GraphiQL in development), `/healthz`,
//! `/readyz`, `/metrics` and `/exports/comments.csv`, `/exports/stats.csv`. Only `application/json` POSTs are
//! executed, one operation at a time, so that no cross-site form can reach a mutation
//! and no batch can multiply a request.

mod graphql;

pub use graphql::Bearer;
mod websocket;

pub use websocket::SocketLimits;
pub use websocket::slots::SocketSlots;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use mati_domain::service::Mati;
use mati_infra::Db;
use mati_infra::redis::Redis;
use serde_json::json;

use crate::graphql::MatiSchema;
use crate::graphql::error::Code;
use crate::graphql::limits::ShapeLimits;
use crate::graphql::persisted::AllowList;
use crate::net::IpNet;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The GraphQL schema.
    pub schema: MatiSchema,
    /// The services.
    pub mati: Mati,
    /// The database, for readiness and metrics.
    pub db: Db,
    /// Whether GraphiQL is served.
    pub graphiql: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpNet>>,
    /// Redis, for readiness.
    pub redis: Option<Redis>,
    /// Limits on the shape of documents.
    pub shape: ShapeLimits,
    /// Most requests in one JSON batch; 0 refuses batches.
    pub max_batch: usize,
    /// The only documents allowed to run, when set.
    pub allow_list: Option<Arc<AllowList>>,
    /// What bounds the WebSockets.
    pub sockets: SocketLimits,
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql::graphql_get).post(graphql::graphql))
        .route("/graphql/ws", get(websocket::websocket))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/exports/comments.csv", get(crate::exports::comments))
        .route("/exports/stats.csv", get(crate::exports::stats::stats))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// A GraphQL-shaped error outside of execution.
pub(crate) fn refuse(status: StatusCode, code: Code, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn graphiql(State(state): State<AppState>) -> Response {
    if !state.graphiql {
        return refuse(StatusCode::NOT_FOUND, Code::NotFound, "GraphiQL is off in production");
    }
    let page = GraphiQLSource::build()
        .endpoint("/graphql")
        .subscription_endpoint("/graphql/ws")
        .title("Mati GraphQL")
        .finish();
    Html(page).into_response()
}

async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(json!({ "status": "ok" }))).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    let database = tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await;
    let database_ok = matches!(database, Ok(Ok(())));
    let redis = state.redis.as_ref().map(Redis::is_healthy);
    let degraded = !database_ok || redis == Some(false);
    let mut body = json!({
        "status": if degraded { "degraded" } else { "ok" },
        "database": if database_ok { "ok" } else { "unreachable" },
    });
    if let Some(healthy) = redis {
        // Without Redis, limits fall back to this process and the queue keeps its items
        // in the database: still serving, so still ready; the body says what is degraded.
        body["redis"] = json!(if healthy { "ok" } else { "unreachable" });
    }
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = format!(
        "# HELP mati_db_statements_total SQL statements run by this process.\n\
         # TYPE mati_db_statements_total counter\n\
         mati_db_statements_total {}\n",
        state.db.statements()
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}
