//! Security headers on every response, with a fresh CSP nonce per request for the inline
//! hydration script that Leptos writes into each page.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;
use std::sync::Arc;

/// The nonce of this request, read by the Leptos context so that its scripts carry it.
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

#[derive(Clone, Debug)]
pub struct HeaderPolicy {
    /// Sources allowed to frame the page (portals that embed it).
    frame_ancestors: Arc<str>,
    /// The policy for JSON API responses, which never run scripts: built once, not per request.
    api_csp: HeaderValue,
    /// Sent when Gatehouse is served over HTTPS (`GATEHOUSE_SECURE_COOKIES`).
    hsts: bool,
}

/// One `frame-ancestors` source: `'self'`, `'none'`, or `scheme://host[:port]` (a `*.` label
/// allowed first). Anything else would silently drop the header in browsers.
fn valid_source(source: &str) -> bool {
    if matches!(source, "'self'" | "'none'") {
        return true;
    }
    let Some((scheme, rest)) = source.split_once("://") else {
        return false;
    };
    let host_port = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    let host = host.strip_prefix("*.").unwrap_or(host);
    matches!(scheme, "https" | "http")
        && port.is_none_or(|p| p == "*" || p.parse::<u16>().is_ok())
        && !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

impl HeaderPolicy {
    /// Refuses a malformed `frame_ancestors` with a message that names it, so that the server
    /// does not start with a header browsers would ignore.
    pub fn new(frame_ancestors: &str, hsts: bool) -> Result<Self, String> {
        let sources: Vec<&str> = frame_ancestors.split_ascii_whitespace().collect();
        if sources.is_empty() {
            return Err(
                "GATEHOUSE_FRAME_ANCESTORS is empty: use 'self', or list the portals' origins"
                    .into(),
            );
        }
        if let Some(bad) = sources.iter().find(|s| !valid_source(s)) {
            return Err(format!(
                "GATEHOUSE_FRAME_ANCESTORS: {bad:?} is not a frame-ancestors source; use 'self', 'none' or origins such as https://portal.example.com, separated by spaces"
            ));
        }
        if sources.contains(&"'none'") && sources.len() > 1 {
            return Err(
                "GATEHOUSE_FRAME_ANCESTORS: 'none' cannot be combined with other sources".into(),
            );
        }
        let frame_ancestors = sources.join(" ");
        let api_csp = format!(
            "default-src 'none'; frame-ancestors {frame_ancestors}; object-src 'none'; base-uri 'none'"
        );
        Ok(Self {
            api_csp: HeaderValue::from_str(&api_csp).map_err(|e| e.to_string())?,
            frame_ancestors: frame_ancestors.into(),
            hsts,
        })
    }

    fn page_csp(&self, nonce: &str) -> Option<HeaderValue> {
        let csp = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
             form-action 'self'; frame-ancestors {}; object-src 'none'; base-uri 'none'",
            self.frame_ancestors
        );
        HeaderValue::from_str(&csp).ok()
    }
}

pub async fn security_headers(
    State(policy): State<HeaderPolicy>,
    mut request: Request,
    next: Next,
) -> Response {
    let invitation = request.uri().path() == "/invitation";
    // Only pages carry inline scripts; API responses get the fixed script-free policy.
    let csp = if request.uri().path().starts_with("/api/") {
        Some(policy.api_csp.clone())
    } else {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let nonce: Arc<str> = STANDARD.encode(bytes).into();
        request.extensions_mut().insert(CspNonce(nonce.clone()));
        policy.page_csp(&nonce)
    };

    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Pages and server-function answers carry one user's data and name the current bundle's
    // chunks: never stored, so a redeploy never serves a page that points at old chunks.
    // (The bundle sets its own: it is immutable.)
    if !headers.contains_key(header::CACHE_CONTROL) && !is_static_file(headers) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(csp) = csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if policy.hsts {
        // Only over HTTPS: a year, subdomains included (no preload: that is the operator's call).
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The invitation page once held a token in its address: it sends no referrer at all.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if invitation {
            "no-referrer"
        } else {
            "strict-origin-when-cross-origin"
        }),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    response
}

/// Static files from `public/` (the favicon) may be cached; everything generated may not.
fn is_static_file(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::LAST_MODIFIED)
}

#[cfg(test)]
mod tests {
    use super::HeaderPolicy;

    #[test]
    fn frame_ancestors_are_checked_before_the_start() {
        for good in [
            "'self'",
            "'none'",
            "'self' https://portal.example.com",
            "https://*.example.com:8443 http://localhost:3000",
        ] {
            assert!(HeaderPolicy::new(good, false).is_ok(), "{good}");
        }
        for bad in [
            "",
            "self",
            "'self'; script-src *",
            "https://portal.example.com/path?x",
            "portal.example.com",
            "'none' 'self'",
            "https://a.example.com,https://b.example.com",
        ] {
            assert!(HeaderPolicy::new(bad, false).is_err(), "{bad}");
        }
    }
}
