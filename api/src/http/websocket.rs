//! Subscriptions over WebSocket.

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;

use mati_domain::rate_limit::Origin;

use super::{AppState, Bearer};
use crate::graphql::error::to_graphql;
use crate::graphql::loaders::Loaders;
use crate::net::client_address;

/// Subscriptions over `graphql-transport-ws`. The token comes in `connection_init`
/// (`{"Authorization": "Bearer …"}`); a connection is accepted only for an OFFICIAL,
/// MODERATOR or ADMIN, anything else closes it.
pub(super) async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Operations sent over the socket count against the same per-address limits.
    let origin = Origin {
        address: Some(client_address(peer.ip(), &headers, &state.trusted_proxies)),
    };
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
                data.insert(origin);
                data.insert(Bearer(token));
                Ok(data)
            })
            .serve()
    })
}
