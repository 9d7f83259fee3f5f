//! The client's address: the TCP peer, or — only with `TRUST_PROXY` — the address the proxy in
//! front of us saw, which is the last entry of `X-Forwarded-For` (earlier entries are whatever
//! the client chose to send).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request};

pub fn from_parts(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> IpAddr {
    let forwarded = || {
        // The last hop only: anything before it was written by the client.
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()?
            .to_str()
            .ok()?;
        last.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
    };
    if trust_proxy && let Some(ip) = forwarded() {
        return ip;
    }
    peer.map(|p| p.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

pub fn of_request<B>(req: &Request<B>, trust_proxy: bool) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    from_parts(req.headers(), peer, trust_proxy)
}

pub fn of_parts(parts: &Parts, trust_proxy: bool) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    from_parts(&parts.headers, peer, trust_proxy)
}

/// The key extractor for the general per-address rate limit.
#[derive(Clone, Copy, Debug)]
pub struct ClientIpKey {
    pub trust_proxy: bool,
}

impl tower_governor::key_extractor::KeyExtractor for ClientIpKey {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, tower_governor::GovernorError> {
        Ok(of_request(req, self.trust_proxy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn forwarded_for_is_only_trusted_when_configured_and_uses_the_last_hop() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9"),
        );
        let peer = Some("10.0.0.2:5555".parse().unwrap());
        assert_eq!(
            from_parts(&h, peer, false),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            from_parts(&h, peer, true),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }
}
