//! Leptos shows a failed no-JavaScript form submission by redirecting back with the error in
//! the URL (`?__path=…&__err=…`), and renders whatever `__err` says. A crafted link could then
//! put any text on a tab. So a redirect that carries an error is also written to the browser's
//! session as a one-time flash, and a page whose URL carries an error is only shown with it when
//! the flash matches; otherwise the browser is sent to the same address without it.

use axum::{
    extract::Request,
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

const FLASH: &str = "server_fn_error";

/// The `__err` value in a URL's query, if any.
fn error_param(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("__err="))
}

/// `path?query` without `__err` and `__path`. The path keeps one leading slash: `//host/x`
/// is a path to this server but a link to another host once it is a `Location`.
fn without_error(path: &str, query: &str) -> String {
    let path = format!("/{}", path.trim_start_matches(['/', '\\']));
    let path = path.as_str();
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            !pair.starts_with("__err=") && !pair.starts_with("__path=") && !pair.is_empty()
        })
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

pub async fn only_own_errors(request: Request, next: Next) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    let is_page = request.method() == Method::GET && !request.uri().path().starts_with("/rpc/");
    if let (true, Some(query)) = (is_page, request.uri().query()) {
        if let Some(shown) = error_param(query) {
            let flashed = match &session {
                Some(s) => s.remove::<String>(FLASH).await.ok().flatten(),
                None => None,
            };
            if flashed.as_deref() != Some(shown) {
                tracing::warn!(
                    path = request.uri().path(),
                    "an error in a URL that this browser did not cause was removed"
                );
                return Redirect::to(&without_error(request.uri().path(), query)).into_response();
            }
        }
        return next.run(request).await;
    }
    let is_server_fn = request.uri().path().starts_with("/rpc/");
    let response = next.run(request).await;
    if is_server_fn && response.status().is_redirection() {
        let err = response
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split_once('?'))
            .and_then(|(_, q)| error_param(q))
            .map(str::to_owned);
        if let (Some(err), Some(session)) = (err, session)
            && session.insert(FLASH, err).await.is_err()
        {
            tracing::warn!("could not keep a form error for the page it returns to");
        }
    }
    response
}
