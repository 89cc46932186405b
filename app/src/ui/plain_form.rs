//! Forms that work before the WASM has arrived, or without JavaScript: a pane opened by a link
//! (`?edit=ID`) is rendered by the server, and its form posts to the server function itself.
//! Leptos answers such a post by sending the browser back to the page it came from (with the
//! error in the URL when it failed); on success, the pane should close instead.

use http::{HeaderMap, header, request::Parts};
use leptos::prelude::use_context;

/// The URL parameters that open a pane over a list.
pub const PANE_PARAMS: [&str; 2] = ["edit", "remove"];

fn headers() -> Option<HeaderMap> {
    use_context::<Parts>().map(|parts| parts.headers)
}

/// Whether this server function call is a browser's own form post (it asks for a page back)
/// rather than a call from the WASM client (which asks for JSON).
pub fn is_plain_post() -> bool {
    headers()
        .and_then(|h| {
            h.get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// After a plain post that succeeded: back to the page it came from, without the pane. Only a
/// path under `within` is followed, so a forged `Referer` sends nobody elsewhere.
pub fn close_pane(within: &str) {
    if !is_plain_post() {
        return;
    }
    let referer = headers().and_then(|h| {
        h.get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<http::Uri>().ok())
    });
    let target = referer
        .filter(|uri| uri.path() == within)
        .map(|uri| without_pane(within, uri.query().unwrap_or("")))
        .unwrap_or_else(|| within.to_owned());
    leptos_axum::redirect(&target);
}

fn without_pane(path: &str, query: &str) -> String {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            !pair.is_empty() && !PANE_PARAMS.contains(&key) && !key.starts_with("__")
        })
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::without_pane;

    #[test]
    fn the_pane_and_any_error_leave_the_address() {
        assert_eq!(
            without_pane("/t", "q=ada&edit=4&__path=x&__err=y&sort=-role"),
            "/t?q=ada&sort=-role"
        );
        assert_eq!(without_pane("/t", "remove=9"), "/t");
    }
}
