//! Refuses state-changing requests that another site made a browser send (CSRF).
//!
//! Browsers label every request with `Sec-Fetch-Site` (Fetch Metadata) and state-changing ones
//! with `Origin`; either naming another site is enough to refuse. Requests with neither header
//! come from non-browser clients, which cannot be tricked into carrying a user's cookie.

use app::error::AppError;
use axum::{
    extract::Request,
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

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

pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && is_cross_site(request.headers()) {
        tracing::warn!(method = %request.method(), path = request.uri().path(), "cross-site request refused");
        return AppError::Forbidden.into_response();
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
