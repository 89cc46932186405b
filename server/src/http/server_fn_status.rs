//! Gives failed server-function calls the status of their error.
//!
//! Leptos answers every server-function error with 500 and the encoded error in the body. This
//! layer decodes that body once, here, and applies `AppError::status()`, so that a refused
//! caller gets 401/403 and bad input a 4xx, as with every other endpoint.

use app::error::AppError;
use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

/// Encoded `AppError`s are a few hundred bytes; anything larger is not one.
const MAX_ERROR_BODY: usize = 16 * 1024;

pub async fn apply_error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}
