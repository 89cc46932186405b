//! The built site bundle under `/pkg` (WASM chunks, JS, CSS), served as cargo-leptos wrote it.
//!
//! A release build (`scripts/build.sh`) names every file by its content hash and writes a
//! brotli (quality 11) and a gzip copy beside it. Those copies are sent as they are, with their
//! `Content-Encoding`, instead of compressing the bundle again on every request at a low level;
//! and because a file's name changes whenever its content does, it may be cached for a year:
//! a redeploy never mixes old and new chunks, as the page (never cached) names the new ones.

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::Response,
};
use leptos::config::LeptosOptions;
use std::{path::PathBuf, sync::OnceLock};
use tower_http::{compression::CompressionLayer, services::ServeDir};

/// For files whose name is their content's hash.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// For a build without hashed names (debug builds): the browser asks again each time.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// The stylesheet's address, for the few pages the server writes itself (single sign-on's
/// refusals), set once at the start by [`remember_stylesheet`].
static STYLESHEET: OnceLock<String> = OnceLock::new();

/// Works out the stylesheet's address as the app's `HashedStylesheet` does: the name cargo-leptos
/// gave it, with the content hash it wrote beside the binary (`hash.txt`) in a release build.
pub fn remember_stylesheet(options: &LeptosOptions) {
    let hash = options
        .hash_files
        .then(|| {
            let beside = std::env::current_exe()
                .ok()?
                .parent()?
                .join(&*options.hash_file);
            let hashes = std::fs::read_to_string(beside).ok()?;
            hashes.lines().find_map(|line| {
                let (file, hash) = line.trim().split_once(':')?;
                (file == "css").then(|| hash.trim().to_owned())
            })
        })
        .flatten();
    let name = match hash {
        Some(hash) => format!("{}.{hash}.css", options.output_name),
        None => format!("{}.css", options.output_name),
    };
    let _ = STYLESHEET.set(format!("{}/{name}", route_path(options)));
}

/// The stylesheet's address (see [`remember_stylesheet`]).
pub fn stylesheet_href() -> &'static str {
    STYLESHEET.get().map_or("", String::as_str)
}

/// The route path of the bundle, e.g. `/pkg`.
pub fn route_path(options: &LeptosOptions) -> String {
    format!("/{}", options.site_pkg_dir.trim_matches('/'))
}

pub fn router<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir = PathBuf::from(&*options.site_root).join(&*options.site_pkg_dir);
    let cache_control = if options.hash_files {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    Router::new().nest_service(
        &route_path(options),
        Router::new()
            .fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip())
            .layer(middleware::from_fn_with_state(
                cache_control,
                set_cache_control,
            ))
            // Compresses only what has no precompressed copy (a debug build): a response that
            // already carries a Content-Encoding passes through untouched.
            .layer(CompressionLayer::new()),
    )
}

/// Only found files may be cached: a 404 for a chunk that is still being deployed must not be.
async fn set_cache_control(
    State(value): State<HeaderValue>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let status = response.status();
    let value = if status.is_success() || status == StatusCode::NOT_MODIFIED {
        value
    } else {
        HeaderValue::from_static("no-store")
    };
    let headers = response.headers_mut();
    if value == IMMUTABLE {
        // A file that never changes needs no revalidation date, and nobody fetches part of
        // a chunk: these would only add bytes to each of a first visit's many responses.
        headers.remove(header::LAST_MODIFIED);
        headers.remove(header::ACCEPT_RANGES);
    }
    headers.insert(header::CACHE_CONTROL, value);
    response
}
