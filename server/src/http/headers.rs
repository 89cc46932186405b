//! Security headers on every response, with a fresh CSP nonce per request for the inline
//! hydration script that Leptos writes into each page.

use app::context::AppContext;
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
    /// The policy for JSON API responses, which never run scripts: built once, not per request.
    api_csp: HeaderValue,
    /// Sent when Gatehouse is served over HTTPS (`GATEHOUSE_SECURE_COOKIES`).
    hsts: bool,
    /// The bundle's folder with a trailing slash, e.g. `/pkg/`.
    bundle: Arc<str>,
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

/// Reads `GATEHOUSE_FRAME_ANCESTORS` (the portals that may frame `/embed/*`), refusing a
/// malformed one with a message that names it, so that the server does not start with a
/// header browsers would ignore.
pub fn parse_frame_ancestors(frame_ancestors: &str) -> Result<Vec<String>, String> {
    let sources: Vec<&str> = frame_ancestors.split_ascii_whitespace().collect();
    if sources.is_empty() {
        return Err(
            "GATEHOUSE_FRAME_ANCESTORS is empty: leave it unset, or list the portals' origins"
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
    Ok(sources.into_iter().map(str::to_owned).collect())
}

impl HeaderPolicy {
    pub fn new(hsts: bool, bundle_path: &str) -> Self {
        Self {
            bundle: format!("{}/", bundle_path.trim_end_matches('/')).into(),
            api_csp: HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
            ),
            hsts,
        }
    }

    fn page_csp(&self, nonce: &str, frame_ancestors: &str, forms_to: &str) -> Option<HeaderValue> {
        let csp = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
             form-action 'self'{forms_to}; frame-ancestors {frame_ancestors}; object-src 'none'; base-uri 'none'"
        );
        HeaderValue::from_str(&csp).ok()
    }
}

/// Who may frame a page: only the allowed portals may frame `/embed/*` (`'none'` while there
/// are none); every other page only Gatehouse itself. Read per request, so that an origin
/// added or removed through any server applies at once.
async fn frame_ancestors(ctx: &AppContext, path: &str) -> Option<String> {
    if !path.starts_with("/embed/") {
        return None;
    }
    let sources = app::embed::ssr::allowed_sources(ctx)
        .await
        .unwrap_or_else(|_| Vec::new());
    Some(if sources.is_empty() {
        "'none'".to_owned()
    } else {
        sources.join(" ")
    })
}

pub async fn security_headers(
    State((policy, ctx)): State<(HeaderPolicy, AppContext)>,
    mut request: Request,
    next: Next,
) -> Response {
    // A first visit fetches a few dozen bundle files, many of them under a kilobyte: the
    // headers only documents act on (CSP, framing, referrer, opener, permissions) cost 18 kB
    // of a Users tab's first visit. Bundle files get the ones that apply to scripts and modules.
    if request.uri().path().starts_with(&*policy.bundle) {
        let mut response = next.run(request).await;
        transport_headers(&policy, response.headers_mut());
        return response;
    }
    let invitation = request.uri().path() == "/invitation";
    let embedded = frame_ancestors(&ctx, request.uri().path()).await;
    // Only pages carry inline scripts; API responses get the fixed script-free policy.
    let csp = if request.uri().path().starts_with("/api/") {
        Some(policy.api_csp.clone())
    } else {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let nonce: Arc<str> = STANDARD.encode(bytes).into();
        request.extensions_mut().insert(CspNonce(nonce.clone()));
        // The sign-in page's single sign-on button posts here and is redirected to the
        // provider: browsers hold that redirect to the page's form-action too.
        let forms_to = if request.uri().path() == "/login" {
            app::sso::settings::origins(&ctx)
                .await
                .unwrap_or_default()
                .iter()
                .fold(String::new(), |all, o| all + " " + o)
        } else {
            String::new()
        };
        policy.page_csp(&nonce, embedded.as_deref().unwrap_or("'self'"), &forms_to)
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
    transport_headers(&policy, headers);
    // For browsers that predate frame-ancestors; the embedded pages rely on the CSP alone.
    if embedded.is_none() {
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    }
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

/// What every response carries, bundle files included.
fn transport_headers(policy: &HeaderPolicy, headers: &mut axum::http::HeaderMap) {
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
}

/// Static files from `public/` (the favicon) may be cached; everything generated may not.
fn is_static_file(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::LAST_MODIFIED)
}

#[cfg(test)]
mod tests {
    use super::parse_frame_ancestors;

    #[test]
    fn frame_ancestors_are_checked_before_the_start() {
        for good in [
            "'self'",
            "'none'",
            "'self' https://portal.example.com",
            "https://*.example.com:8443 http://localhost:3000",
        ] {
            assert!(parse_frame_ancestors(good).is_ok(), "{good}");
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
            assert!(parse_frame_ancestors(bad).is_err(), "{bad}");
        }
    }
}
