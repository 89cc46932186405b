//! What Gatehouse may connect to when it speaks to the outside (webhooks, mail servers, the
//! linked vault, Microsoft Entra): never a link-local or cloud metadata address, where a
//! crafted connection would read the host's own credentials; loopback only when the operator
//! allows it (`GATEHOUSE_ALLOW_LOOPBACK_TARGETS`, for a vault on the same machine and for the
//! tests). Names are checked where they resolve, so a name that points at such an address is
//! refused as well as the address typed in. Answers are read up to 1 MiB.

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

/// The most of an answer that is read; a vault's or Entra's JSON is a few kilobytes.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// AWS's IPv6 instance metadata service.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Why `ip` may not be connected to, if it may not.
pub fn refused(ip: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80 || v6 == AWS_METADATA_V6,
    };
    if link_local {
        return Some("a link-local or cloud metadata address");
    }
    // 0.0.0.0 and :: reach this machine on Linux.
    if (ip.is_loopback() || ip.is_unspecified()) && !allow_loopback {
        return Some("this machine's own address (GATEHOUSE_ALLOW_LOOPBACK_TARGETS is off)");
    }
    None
}

/// Checks a host as written in a URL or form: an address literal is judged at once, a name
/// when it resolves (`Resolver`, `resolve`).
pub fn check_host(host: &str, allow_loopback: bool) -> Result<(), String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => match refused(ip, allow_loopback) {
            Some(why) => Err(format!(
                "{host} is {why}: Gatehouse does not connect there."
            )),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// Resolves `host:port` and keeps the addresses that may be connected to (for the SMTP client,
/// which is handed an address).
pub async fn resolve(host: &str, port: u16, allow_loopback: bool) -> Result<SocketAddr, String> {
    check_host(host, allow_loopback)?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|_| format!("{host} could not be resolved."))?
        .collect();
    first_allowed(host, addrs, allow_loopback)
}

fn first_allowed(
    host: &str,
    addrs: Vec<SocketAddr>,
    allow_loopback: bool,
) -> Result<SocketAddr, String> {
    let mut why = None;
    for addr in addrs {
        match refused(addr.ip(), allow_loopback) {
            None => return Ok(addr),
            Some(w) => why = Some(w),
        }
    }
    Err(match why {
        Some(why) => format!("{host} resolves to {why}: Gatehouse does not connect there."),
        None => format!("{host} could not be resolved."),
    })
}

/// reqwest's resolver, filtered: a name resolving only to refused addresses fails to connect.
#[derive(Clone, Copy, Debug)]
pub struct Resolver {
    pub allow_loopback: bool,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| refused(a.ip(), allow_loopback).is_none())
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} resolves to no address Gatehouse may connect to (link-local, cloud metadata, or this machine's own)"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client for the outside: the filtered resolver, no redirects (a redirect would carry
/// a vault token or a signature wherever it points).
pub fn client(
    allow_loopback: bool,
    connect_timeout: std::time::Duration,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(Resolver { allow_loopback }))
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why an answer could not be read.
#[derive(Debug)]
pub enum ReadError {
    Transport(reqwest::Error),
    TooLarge,
}

/// Reads an answer's body, at most [`MAX_ANSWER_BYTES`]: a larger one is cut off with an
/// error, not read into memory.
pub async fn read_capped(mut res: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    if res
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_link_local_are_always_refused() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "febf::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(refused(ip, true).is_some(), "{ip}");
            assert!(refused(ip, false).is_some(), "{ip}");
        }
    }

    #[test]
    fn loopback_only_when_allowed() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "0.0.0.0",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(refused(ip, false).is_some(), "{ip}");
            assert!(refused(ip, true).is_none(), "{ip}");
        }
        for ip in ["192.0.2.1", "2001:db8::1", "fd00:ec2::253", "10.0.0.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(refused(ip, false).is_none(), "{ip}");
        }
    }

    #[test]
    fn literals_are_judged_at_once() {
        assert!(check_host("[fe80::1]", true).is_err());
        assert!(check_host("169.254.169.254", true).is_err());
        assert!(check_host("127.0.0.1", false).is_err());
        assert!(check_host("127.0.0.1", true).is_ok());
        assert!(check_host("vault.example.com", false).is_ok());
    }
}
