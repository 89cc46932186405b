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
}

impl HeaderPolicy {
    pub fn new(frame_ancestors: &str) -> Self {
        let api_csp = format!(
            "default-src 'none'; frame-ancestors {frame_ancestors}; object-src 'none'; base-uri 'none'"
        );
        Self {
            frame_ancestors: frame_ancestors.into(),
            api_csp: HeaderValue::from_str(&api_csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; frame-ancestors 'self'; object-src 'none'; base-uri 'none'")),
        }
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
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
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
