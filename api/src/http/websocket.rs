//! Subscriptions over WebSocket. A socket is a standing cost, so none is free to hold:
//! each address holds at most its share of sockets ([`slots`]), and a socket without an
//! accepted `connection_init` within the init timeout is closed with 4408, as the
//! graphql-transport-ws protocol prescribes.

pub(super) mod slots;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{Data, Executor, Request};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use futures::SinkExt;
use futures::stream::{self, BoxStream, StreamExt};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::response::Response;

use mati_domain::DomainError;
use mati_domain::rate_limit::Origin;

use super::failure::{Failure, RequestId};
use super::origin::Client;
use super::{AppState, Bearer};
use crate::graphql::error::{self, Code, server_error, to_graphql};
use crate::graphql::limits::{Kind, ShapeLimits};
use crate::graphql::loaders::Loaders;
use crate::graphql::persisted::AllowList;
use crate::graphql::{self, MatiSchema};

/// The schema as the socket serves it: subscriptions only (everything else has its HTTP
/// door, with its checks), registered documents only in allow-list mode, and within the
/// shape limits, like any request over HTTP.
#[derive(Clone)]
struct SocketExecutor {
    schema: MatiSchema,
    allow_list: Option<Arc<AllowList>>,
    shape: ShapeLimits,
}

impl SocketExecutor {
    fn admit(&self, mut request: Request) -> Result<Request, async_graphql::Error> {
        let (code, message) = match graphql::admit(&mut request, self.allow_list.as_deref(), &self.shape) {
            Ok(Kind::Subscription) => return Ok(request),
            Ok(_) => (
                Code::BadUserInput,
                "only subscriptions run over the WebSocket; send queries and mutations by POST".to_owned(),
            ),
            Err(refusal) => refusal,
        };
        Err(error::refusal(code, message))
    }
}

fn refused(error: async_graphql::Error) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![server_error(error)])
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: Request) -> async_graphql::Response {
        match self.admit(request) {
            Ok(request) => self.schema.execute(request).await,
            Err(error) => refused(error),
        }
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        match self.admit(request) {
            Ok(request) => Executor::execute_stream(&self.schema, request, session_data),
            Err(error) => stream::once(async move { refused(error) }).boxed(),
        }
    }
}

/// The WebSocket close code (RFC 6455) for a server going away: the client reconnects,
/// through the balancer, to a replica that is not stopping.
const GOING_AWAY_CLOSE: u16 = 1001;

/// The graphql-transport-ws close code for a socket that sent no `connection_init` in time.
const INIT_TIMEOUT_CLOSE: u16 = 4408;

/// What bounds the sockets (settings `MATI_MAX_WEBSOCKETS_PER_ADDRESS`,
/// `MATI_WEBSOCKET_INIT_TIMEOUT_SECS`).
#[derive(Debug, Clone)]
pub struct SocketLimits {
    /// The open sockets per address.
    pub slots: Arc<slots::SocketSlots>,
    /// How long a socket may wait for an accepted `connection_init`.
    pub init_timeout: Duration,
}

/// Subscriptions over `graphql-transport-ws`. The token comes in `connection_init`
/// (`{"Authorization": "Bearer …"}`); a connection is accepted only for an OFFICIAL,
/// MODERATOR or ADMIN, anything else closes it. Queries and mutations are refused
/// (BAD_USER_INPUT): they have their own door over HTTP. An address over its share of
/// sockets is refused with 429 (RATE_LIMITED) before the upgrade.
pub(super) async fn websocket(
    State(state): State<AppState>,
    Client(origin): Client,
    Extension(id): Extension<RequestId>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Operations sent over the socket count against the same per-address limits.
    let limits = state.sockets.clone();
    let Some(slot) = limits.slots.take(origin.address_key().unwrap_or_default()) else {
        // Its idle sockets are closed within the init timeout at the latest.
        return Failure::domain(DomainError::RateLimited {
            retry_after: limits.init_timeout,
        })
        .answer(&id);
    };
    let shutdown = state.shutdown.clone();
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        // A stopping server waits for its sockets to say goodbye.
        shutdown.track(async move {
            serve(socket, state, origin, protocol, limits.init_timeout).await;
            // The place is given back however the socket ended.
            drop(slot);
        })
    })
}

/// Serves one socket until it ends, or until `init_timeout` passes without an accepted
/// `connection_init`, when it is closed with 4408.
async fn serve(socket: WebSocket, state: AppState, origin: Origin, protocol: GraphQLProtocol, init_timeout: Duration) {
    let mati = state.mati.clone();
    let executor = SocketExecutor {
        schema: state.schema.clone(),
        allow_list: state.allow_list.clone(),
        shape: state.shape,
    };
    let accepted = Arc::new(AtomicBool::new(false));
    let timed_out = Arc::new(AtomicBool::new(false));
    let (mut sink, mut stream) = socket.split();
    // Past the timeout, an unaccepted socket stops being read, which ends the session.
    let waited = {
        let (accepted, timed_out) = (Arc::clone(&accepted), Arc::clone(&timed_out));
        async move {
            tokio::time::sleep(init_timeout).await;
            if accepted.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            timed_out.store(true, Ordering::SeqCst);
        }
    };
    // A stopping server stops reading, which ends the session, and says why.
    let stopping = state.shutdown.stopping();
    let stopped = Arc::new(AtomicBool::new(false));
    let stop = {
        let stopped = Arc::clone(&stopped);
        async move {
            stopping.await;
            stopped.store(true, Ordering::SeqCst);
        }
    };
    let incoming = (&mut stream).take_until(waited).take_until(stop);
    let on_init = {
        let accepted = Arc::clone(&accepted);
        move |payload: serde_json::Value| async move {
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
            data.insert(origin);
            data.insert(Bearer(token));
            accepted.store(true, Ordering::SeqCst);
            Ok(data)
        }
    };
    GraphQLWebSocket::new_with_pair(&mut sink, incoming, executor, protocol)
        .on_connection_init(on_init)
        .serve()
        .await;
    let close = if timed_out.load(Ordering::SeqCst) {
        Some(CloseFrame {
            code: INIT_TIMEOUT_CLOSE,
            reason: "Connection initialisation timeout".into(),
        })
    } else if stopped.load(Ordering::SeqCst) {
        Some(CloseFrame {
            code: GOING_AWAY_CLOSE,
            reason: "Server shutting down".into(),
        })
    } else {
        None
    };
    if let Some(close) = close {
        // The client may be gone already; there is nobody to tell then.
        let _ = sink.send(Message::Close(Some(close))).await;
    }
}
