//! The client's address: the peer of the connection, or — when the peer is a trusted
//! proxy — the last address in `X-Forwarded-For` that is not itself a trusted proxy.
//! A client cannot choose its own rate-limit key by sending the header.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// An address range, e.g. `10.0.0.0/8` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    address: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `ADDRESS` or `ADDRESS/PREFIX`.
    pub fn parse(raw: &str) -> Option<Self> {
        let (address, prefix) = match raw.split_once('/') {
            Some((address, prefix)) => (address.parse().ok()?, Some(prefix.parse().ok()?)),
            None => (raw.parse().ok()?, None),
        };
        let max = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { address, prefix })
    }

    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            let shift = u32::from(width - prefix);
            if shift >= 128 { 0 } else { bits >> shift }
        }
        match (self.address, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), self.prefix, 32)
                    == masked(u128::from(u32::from(ip)), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128) == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The client address of a request from `peer`.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer.to_canonical();
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    // Walk from the nearest hop: the first address not of our own proxies is the client.
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(*ip))
        .unwrap_or(peer)
        .to_canonical()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert("x-forwarded-for", value);
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let headers = forwarded("1.2.3.4");
        assert_eq!(client_address(ip("203.0.113.9"), &headers, &[]), ip("203.0.113.9"));
        let trusted = [IpNet::parse("10.0.0.0/8").unwrap_or(IpNet {
            address: ip("10.0.0.0"),
            prefix: 8,
        })];
        assert_eq!(client_address(ip("203.0.113.9"), &headers, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = ["10.0.0.0/8", "127.0.0.1"]
            .iter()
            .filter_map(|r| IpNet::parse(r))
            .collect();
        // The client forged the first entry; the proxy appended the real peer.
        let headers = forwarded("6.6.6.6, 198.51.100.7, 10.1.1.1");
        assert_eq!(client_address(ip("127.0.0.1"), &headers, &trusted), ip("198.51.100.7"));
        assert_eq!(
            client_address(ip("10.2.2.2"), &HeaderMap::new(), &trusted),
            ip("10.2.2.2")
        );
    }

    #[test]
    fn ranges_parse_and_match() {
        let net = IpNet::parse("192.168.0.0/16");
        assert!(net.is_some_and(|n| n.contains(ip("192.168.4.5")) && !n.contains(ip("192.169.0.1"))));
        assert!(IpNet::parse("::1").is_some_and(|n| n.contains(ip("::1"))));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("not an ip").is_none());
    }
}
