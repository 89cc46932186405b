//! Portal origins as browsers spell them in `event.origin` and check them in `frame-ancestors`.

/// Normalises a portal origin to `scheme://host[:port]` (lower case, default port dropped), or
/// says what is wrong with it. No wildcards, paths, queries or credentials: the allow-list is
/// compared exactly. Plain `http://` only for this machine (a portal under development).
pub fn parse_origin(input: &str) -> Result<String, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Err("Enter the portal's origin, such as https://portal.example.com.");
    }
    if input.len() > 300 {
        return Err("An origin has at most 300 characters.");
    }
    let lower = input.to_ascii_lowercase();
    let (scheme, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        ("http", rest)
    } else {
        return Err("An origin starts with https:// (or http:// for this machine).");
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@', '\\']) {
        return Err("Only scheme, host and port: no path, query or user name.");
    }
    if rest.contains('*') {
        return Err("Wildcards are not allowed: list each portal's exact origin.");
    }
    let (host, port) = split_host_port(rest).ok_or("This is not a valid host and port.")?;
    if !valid_host(host) {
        return Err("This is not a valid host name.");
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err("The port must be a number from 1 to 65535."),
            Ok(p) if (scheme == "https" && p == 443) || (scheme == "http" && p == 80) => None,
            Ok(p) => Some(p),
        },
    };
    if scheme == "http" && !is_loopback(host) {
        return Err("A portal on another machine must use https://.");
    }
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if let Some(v6) = rest.strip_prefix('[') {
        let (addr, after) = v6.split_once(']')?;
        let host = &rest[..addr.len() + 2];
        return match after {
            "" => Some((host, None)),
            p => Some((host, Some(p.strip_prefix(':')?))),
        };
    }
    Some(match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    })
}

fn valid_host(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::parse_origin;

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            parse_origin(" HTTPS://Portal.Example.com/ ").unwrap(),
            "https://portal.example.com"
        );
        assert_eq!(
            parse_origin("https://portal.example.com:443").unwrap(),
            "https://portal.example.com"
        );
        assert_eq!(
            parse_origin("https://portal.example.com:8443").unwrap(),
            "https://portal.example.com:8443"
        );
        assert_eq!(
            parse_origin("http://localhost:5173").unwrap(),
            "http://localhost:5173"
        );
        assert_eq!(
            parse_origin("http://[::1]:8080").unwrap(),
            "http://[::1]:8080"
        );
    }

    #[test]
    fn anything_but_an_exact_origin_is_refused() {
        for bad in [
            "",
            "portal.example.com",
            "ftp://portal.example.com",
            "https://*.example.com",
            "https://portal.example.com/path",
            "https://portal.example.com?x=1",
            "https://user@portal.example.com",
            "https://portal.example.com:0",
            "https://portal.example.com:99999",
            "https://bad_host.example.com",
            "https://-bad.example.com",
            "http://portal.example.com",
            "https://",
            "'self'",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
