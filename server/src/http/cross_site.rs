//! Refuses state-changing requests that another site made a browser send (CSRF).
//!
//! Browsers label every request with `Sec-Fetch-Site` (Fetch Metadata) and state-changing ones
//! with `Origin`; either naming another site is enough to refuse. A state-changing request that
//! carries the session cookie but neither header is refused too: every browser Gatehouse
//! supports sends one of them, so such a request comes from an old or odd client that a forged
//! form could have driven. Server functions never take `text/plain`, the one body type a
//! cross-site form can send without a preflight.

use app::error::AppError;
use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::sync::Arc;

/// The session cookie's name, which decides whether a request acts for a signed-in user.
#[derive(Clone, Debug)]
pub struct CsrfPolicy {
    pub session_cookie: Arc<str>,
}

fn carries_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('='))
        })
}

fn has_fetch_metadata(headers: &HeaderMap) -> bool {
    headers.contains_key("sec-fetch-site") || headers.contains_key(header::ORIGIN)
}

fn is_text_plain(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain"))
        })
}

pub fn is_cross_site(headers: &HeaderMap) -> bool {
    let fetch_site_foreign = headers
        .get("sec-fetch-site")
        .is_some_and(|v| !matches!(v.as_bytes(), b"same-origin" | b"none"));
    let origin_foreign = headers.get(header::ORIGIN).is_some_and(|origin| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin = origin.to_str().ok();
        match (origin, host) {
            (Some(origin), Some(host)) => {
                let authority = origin
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"));
                authority != Some(host)
            }
            // "Origin: null" (sandboxed frames, privacy redirects) or no Host: not provably ours.
            _ => true,
        }
    });
    fetch_site_foreign || origin_foreign
}

/// An embed session is honoured only where the embedded page uses it: its server functions and
/// the renewal of its session, from the frame itself (same origin), whatever the method.
fn embed_refusal(request: &Request) -> Option<&'static str> {
    if !request.headers().contains_key(app::embed::SESSION_HEADER) {
        return None;
    }
    let path = request.uri().path();
    if is_cross_site(request.headers()) {
        Some("embed session header from another site refused")
    } else if !(path.starts_with("/rpc/") || path == app::embed::ssr::EXCHANGE_PATH) {
        Some("embed session header outside the embedded page's server functions refused")
    } else {
        None
    }
}

pub async fn refuse_cross_site(
    State(policy): State<CsrfPolicy>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(reason) = embed_refusal(&request) {
        tracing::warn!(method = %request.method(), path = request.uri().path(), reason);
        return AppError::NotPermitted(
            "The embed session header is accepted only by the embedded page's server functions, from Gatehouse's own pages."
                .into(),
        )
        .into_response();
    }
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe {
        return next.run(request).await;
    }
    let headers = request.headers();
    let path = request.uri().path();
    let refusal = if is_cross_site(headers) {
        Some("cross-site request refused")
    } else if carries_cookie(headers, &policy.session_cookie) && !has_fetch_metadata(headers) {
        Some("signed-in request without Origin or Sec-Fetch-Site refused")
    } else if path.starts_with("/rpc/") && is_text_plain(headers) {
        Some("text/plain body to a server function refused")
    } else {
        None
    };
    if let Some(reason) = refusal {
        tracing::warn!(method = %request.method(), path, reason);
        return AppError::NotPermitted(
            "This request was refused: it did not come from a page of this site.".into(),
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::is_cross_site;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn same_origin_and_non_browser_requests_pass() {
        assert!(!is_cross_site(&headers(&[])));
        assert!(!is_cross_site(&headers(&[
            ("host", "a.test:3000"),
            ("origin", "http://a.test:3000")
        ])));
        assert!(!is_cross_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "none")])));
    }

    #[test]
    fn the_session_cookie_is_found_by_its_exact_name() {
        let h = headers(&[("cookie", "theme=dark; gatehouse=abc")]);
        assert!(super::carries_cookie(&h, "gatehouse"));
        let h = headers(&[("cookie", "gatehouse_pref=1")]);
        assert!(!super::carries_cookie(&h, "gatehouse"));
        assert!(super::is_text_plain(&headers(&[(
            "content-type",
            "Text/Plain; charset=utf-8"
        )])));
    }

    #[test]
    fn other_sites_are_refused() {
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(is_cross_site(&headers(&[
            ("host", "a.test"),
            ("origin", "http://evil.test")
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "a.test"),
            ("origin", "null")
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "a.test"),
            ("origin", "http://a.test.evil.test")
        ])));
    }
}
