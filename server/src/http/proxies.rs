//! Behind a reverse proxy (every HTTPS deployment has one): when the peer is a trusted proxy,
//! the client's address comes from `X-Forwarded-For` (or RFC 7239 `Forwarded`), taking the
//! rightmost hop that is not itself a trusted proxy, and the host from `X-Forwarded-Host`.
//! Everything downstream — sign-in and API throttles, audit rows, the cross-site check — then
//! sees that one address and host. From any other peer these headers are dropped unread, so a
//! client cannot choose the address it is counted under.

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

/// An address as hops write it: `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let hop = raw.trim().trim_matches('"');
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.split(']').next())
        .and_then(|h| h.parse().ok())
}

impl TrustedProxies {
    /// Addresses and CIDR blocks, separated by commas or spaces; a malformed entry is an error
    /// that names it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in raw.split([',', ' ']).filter(|e| !e.trim().is_empty()) {
            let entry = entry.trim();
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "GATEHOUSE_TRUSTED_PROXIES: {entry:?} is not an address or CIDR block (such as 10.0.0.5 or 10.0.0.0/8)"
                    )
                })?;
            nets.push(net);
        }
        Ok(Self(Arc::new(nets)))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The hops a request passed, oldest first: `X-Forwarded-For`, else `Forwarded`'s `for=`.
    fn hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
        let values = |name: &HeaderName| -> Vec<String> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::to_owned)
                .collect()
        };
        let xff = values(&X_FORWARDED_FOR);
        if !xff.is_empty() {
            return xff.iter().map(|h| parse_hop(h)).collect();
        }
        values(&FORWARDED)
            .iter()
            .map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_hop(value))
                        .flatten()
                })
            })
            .collect()
    }

    /// The client: walking from the peer back through the hops, the first address that is
    /// not a trusted proxy (or the oldest hop, when all are trusted).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        for hop in Self::hops(headers).into_iter().rev() {
            if !self.trusts(client) {
                break;
            }
            match hop {
                Some(ip) => client = ip,
                // A hop nobody can read: stop at the last address that is known.
                None => break,
            }
        }
        client
    }
}

pub async fn resolve_client(
    State(proxies): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let trusted = peer.is_some_and(|p| proxies.trusts(p.ip()));
    if let (Some(peer), true) = (peer, trusted) {
        let client = proxies.client(peer.ip(), request.headers());
        let host = request
            .headers()
            .get(X_FORWARDED_HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .and_then(|h| HeaderValue::from_str(h).ok());
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
        if let Some(host) = host {
            request.headers_mut().insert(header::HOST, host);
        }
    } else {
        for name in [
            X_FORWARDED_FOR,
            X_FORWARDED_HOST,
            X_FORWARDED_PROTO,
            FORWARDED,
        ] {
            request.headers_mut().remove(name);
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.5").unwrap();
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        // A client that sent its own X-Forwarded-For gets its claim skipped.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.9")]);
        assert_eq!(
            proxies.client(peer, &h),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[(
            "forwarded",
            "for=198.51.100.17;proto=https, for=\"[2001:db8::1]:4711\"",
        )]);
        assert_eq!(
            proxies.client(peer, &h),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[("x-forwarded-for", "garbage, 10.0.0.9")]);
        assert_eq!(
            proxies.client(peer, &h),
            "10.0.0.9".parse::<IpAddr>().unwrap()
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.internal").is_err());
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
    }
}
