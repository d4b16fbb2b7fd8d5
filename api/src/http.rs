//! HTTP: `/graphql` (POST for operations, GET for GraphiQL in development), `/healthz`,
//! `/readyz`, `/metrics` and `/exports/comments.csv`, `/exports/stats.csv`. Only `application/json` POSTs are
//! executed, one operation at a time, so that no cross-site form can reach a mutation
//! and no batch can multiply a request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use mati_domain::DomainError;
use mati_domain::rate_limit::Origin;
use mati_domain::service::Mati;
use mati_infra::Db;
use mati_infra::redis::Redis;
use serde_json::json;
use tracing::Instrument;

use crate::graphql::MatiSchema;
use crate::graphql::error::{Code, finish, to_graphql};
use crate::graphql::loaders::Loaders;
use crate::net::{IpNet, client_address};

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
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(websocket))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/exports/comments.csv", get(crate::exports::comments))
        .route("/exports/stats.csv", get(crate::exports::stats::stats))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// A GraphQL-shaped error outside of execution.
fn refuse(status: StatusCode, code: Code, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

fn bearer(headers: &HeaderMap) -> Result<Option<String>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(()),
    }
}

fn response_type(headers: &HeaderMap) -> &'static str {
    let wants_graphql = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/graphql-response+json"));
    if wants_graphql {
        "application/graphql-response+json"
    } else {
        "application/json"
    }
}

async fn graphql(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::BadUserInput,
                "the request body is larger than 64 KiB",
            );
        }
        Err(rejection) => {
            return refuse(
                rejection.status(),
                Code::BadUserInput,
                "the request body could not be read",
            );
        }
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("graphql", request_id = %request_id);
    let origin = Origin {
        address: Some(client_address(peer.ip(), &headers, &state.trusted_proxies)),
    };
    let mut response = execute(state, headers, body, origin, &request_id)
        .instrument(span)
        .await;
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", id);
    }
    response
}

async fn execute(state: AppState, headers: HeaderMap, body: Bytes, origin: Origin, request_id: &str) -> Response {
    if !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::BadUserInput,
            "send GraphQL requests as application/json",
        );
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                "the body is not valid JSON",
            );
        }
    };
    if value.is_array() {
        return refuse(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "batched requests are not accepted",
        );
    }
    // async-graphql would read a missing query as an empty one; it is a malformed request.
    if !value.get("query").is_some_and(serde_json::Value::is_string) {
        return refuse(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "the body must be a GraphQL request with a \"query\" string",
        );
    }
    let request: async_graphql::Request = match serde_json::from_value(value) {
        Ok(request) => request,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                "the body must be a GraphQL request: {\"query\": …, \"variables\": …}",
            );
        }
    };
    let Ok(token) = bearer(&headers) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "the Authorization header must be 'Bearer <token>'",
        );
    };
    let principal = match state.mati.authenticate(token.as_deref()).await {
        Ok(principal) => principal,
        Err(err) => {
            let status = match err {
                DomainError::Unauthenticated => StatusCode::UNAUTHORIZED,
                DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let error = to_graphql(err);
            let mut refused = async_graphql::ServerError::new(error.message, None);
            refused.extensions = error.extensions;
            let mut errors = vec![refused];
            finish(&mut errors, request_id);
            let body = json!({ "errors": errors });
            return (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
        }
    };
    let loaders = Loaders::new(&state.mati);
    let mut response = state
        .schema
        .execute(request.data(principal).data(loaders).data(origin))
        .await;
    finish(&mut response.errors, request_id);
    let refused = refused_for(&response);
    match serde_json::to_string(&response) {
        Ok(body) => match refused {
            // The whole request was refused by a rate limit: say so in HTTP too.
            Some(retry_after) => (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::CONTENT_TYPE, response_type(&headers).to_owned()),
                    (header::RETRY_AFTER, retry_after.to_string()),
                ],
                body,
            )
                .into_response(),
            None => (StatusCode::OK, [(header::CONTENT_TYPE, response_type(&headers))], body).into_response(),
        },
        Err(err) => {
            tracing::error!(error = %err, "response serialisation failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, "internal error")
        }
    }
}

/// Seconds to wait, when nothing of the response succeeded and a limit refused it.
fn refused_for(response: &async_graphql::Response) -> Option<u64> {
    if response.data != async_graphql::Value::Null {
        return None;
    }
    response
        .errors
        .iter()
        .filter_map(|e| e.extensions.as_ref())
        .filter(
            |ext| matches!(ext.get("code"), Some(async_graphql::Value::String(c)) if c == Code::RateLimited.as_str()),
        )
        .filter_map(|ext| match ext.get("retryAfterSeconds") {
            Some(async_graphql::Value::Number(n)) => n.as_u64(),
            _ => None,
        })
        .max()
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

/// Subscriptions over `graphql-transport-ws`. The token comes in `connection_init`
/// (`{"Authorization": "Bearer …"}`); a connection is accepted only for an OFFICIAL,
/// MODERATOR or ADMIN, anything else closes it.
async fn websocket(State(state): State<AppState>, protocol: GraphQLProtocol, upgrade: WebSocketUpgrade) -> Response {
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        let mati = state.mati.clone();
        GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
            .on_connection_init(move |payload| async move {
                let token = payload
                    .get("Authorization")
                    .or_else(|| payload.get("authorization"))
                    .and_then(serde_json::Value::as_str)
                    .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                    .map(str::to_owned);
                let principal = mati.authenticate(token.as_deref()).await.map_err(to_graphql)?;
                // Only those who may watch an inbox get a connection at all.
                mati.watch(&principal).map_err(to_graphql)?;
                let mut data = async_graphql::Data::default();
                data.insert(principal);
                data.insert(Loaders::new(&mati).without_cache());
                Ok(data)
            })
            .serve()
    })
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
