//! HTTP: `/graphql` (POST for operations, GET for GraphiQL in development), `/healthz`,
//! `/readyz`, `/metrics`, `/exports/comments.csv`, `/exports/stats.csv` and Open311
//! GeoReport v2 under `/open311/v2/`. Only `application/json` POSTs to `/graphql` are
//! executed, one operation at a time, so that no cross-site form can reach a mutation
//! and no batch can multiply a request. Every answer is compressed (brotli or gzip)
//! when the client accepts it.

mod exports;
pub mod failure;
mod graphql;
mod open311;
mod origin;
mod pages;
mod revalidate;
mod websocket;

pub use graphql::Bearer;

pub use websocket::SocketLimits;
pub use websocket::slots::SocketSlots;

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use mati_domain::service::Mati;
use serde_json::json;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;

use self::failure::{Failure, RequestId};
use self::origin::TrustedProxies;
use crate::graphql::MatiSchema;
use crate::graphql::error::Code;
use crate::graphql::limits::ShapeLimits;
use crate::graphql::persisted::AllowList;
use crate::metrics::{self, Metrics};
use crate::net::IpNet;
use crate::shutdown::Shutdown;

/// The level of gzip and brotli (both count 0 to 9 and beyond; 5 is their middle).
const COMPRESSION_LEVEL: i32 = 5;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The GraphQL schema.
    pub schema: MatiSchema,
    /// The services.
    pub mati: Mati,
    /// Whether GraphiQL is served.
    pub graphiql: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpNet>>,
    /// Limits on the shape of documents.
    pub shape: ShapeLimits,
    /// Most requests in one JSON batch; 0 refuses batches.
    pub max_batch: usize,
    /// The only documents allowed to run, when set.
    pub allow_list: Option<Arc<AllowList>>,
    /// What bounds the WebSockets.
    pub sockets: SocketLimits,
    /// Whether the server is stopping, and what its stop waits for.
    pub shutdown: Shutdown,
    /// What `/metrics` exports.
    pub metrics: Arc<Metrics>,
}

impl FromRef<AppState> for Mati {
    fn from_ref(state: &AppState) -> Self {
        state.mati.clone()
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.metrics)
    }
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        Self(Arc::clone(&state.trusted_proxies))
    }
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql::graphql_get).post(graphql::graphql))
        .route("/graphql/ws", get(websocket::websocket))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/exports/comments.csv", get(exports::comments))
        .route("/exports/stats.csv", get(exports::stats::stats))
        .merge(open311::routes())
        .merge(pages::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            metrics::observe_http,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Phones on 2G pay for every byte: brotli or gzip whenever the client takes it
        // (the commune list an app loads shrinks fivefold, 124 KB to 23). A middle level: most
        // of the gain for little of the CPU.
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .quality(CompressionLevel::Precise(COMPRESSION_LEVEL)),
        )
        .layer(axum::middleware::from_fn(failure::request_id))
        .with_state(state)
}

async fn graphiql(state: AppState, id: &RequestId) -> Response {
    if !state.graphiql {
        return Failure::refused(StatusCode::NOT_FOUND, Code::NotFound, "GraphiQL is off in production").answer(id);
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
    if state.shutdown.draining() {
        // Balancers take this replica out of rotation; what they still send is served.
        let body = json!({ "status": "draining" });
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    }
    let ready = state.mati.readiness().await;
    let answer = |ok: bool| if ok { "ok" } else { "unreachable" };
    let mut body = json!({
        "status": if ready.degraded() { "degraded" } else { "ok" },
        "database": answer(ready.database),
    });
    if let Some(healthy) = ready.redis {
        // Without Redis, limits fall back to this process and the queue keeps its items
        // in the database: still serving, so still ready; the body says what is degraded.
        body["redis"] = json!(answer(healthy));
    }
    if let Some(replica) = ready.read_replica {
        // Its reads go to the primary meanwhile: still ready.
        body["read_replica"] = json!(replica.state.as_str());
    }
    let status = if ready.database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics.scrape(&state.mati, state.shutdown.draining()).await;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}
