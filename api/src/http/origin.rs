//! Where a request comes from: the client's address, read once for every handler (the
//! peer, or the left-most untrusted `X-Forwarded-For` entry behind a trusted proxy).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use mati_domain::rate_limit::Origin;

use crate::net::{IpNet, client_address};

/// Proxies whose `X-Forwarded-For` is believed (`MATI_TRUSTED_PROXIES`).
#[derive(Debug, Clone)]
pub struct TrustedProxies(pub Arc<Vec<IpNet>>);

/// The caller's [`Origin`], for limits per address.
pub struct Client(pub Origin);

impl<S> FromRequestParts<S> for Client
where
    S: Send + Sync,
    TrustedProxies: FromRef<S>,
{
    type Rejection = <ConnectInfo<SocketAddr> as FromRequestParts<S>>::Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await?;
        let TrustedProxies(trusted) = TrustedProxies::from_ref(state);
        let address = client_address(peer.ip(), &parts.headers, &trusted);
        Ok(Self(Origin { address: Some(address) }))
    }
}
