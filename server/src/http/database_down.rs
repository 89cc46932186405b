//! While the database cannot be reached, a request that failed for it gets a 503 that says so
//! (an HTML page for a browser, JSON otherwise), not a bare 500: a failure deep in a layer (the
//! session store loading a session) or a handler is checked against the database once, and
//! only then, so the path of a request that worked costs nothing.

use app::{db::Pool, error::AppError};
use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::time::Duration;

/// How long the database may take to answer `SELECT 1` before it counts as out of reach.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the database answers within [`CHECK_TIMEOUT`].
pub async fn reachable(pool: &Pool) -> bool {
    let ping = sqlx::query("SELECT 1").execute(pool);
    matches!(tokio::time::timeout(CHECK_TIMEOUT, ping).await, Ok(Ok(_)))
}

pub async fn answer_503_while_down(
    State(pool): State<Pool>,
    request: Request,
    next: Next,
) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR || reachable(&pool).await {
        return response;
    }
    let error = AppError::Unavailable;
    if !wants_html {
        return error.into_response();
    }
    let mut page = super::plain_page::page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        &error.to_string(),
        super::plain_page::TRY_AGAIN,
    );
    page.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(app::error::RETRY_AFTER_SECS),
    );
    page
}
