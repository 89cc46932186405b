//! The HTTP side of embedding: the token exchange the frame calls, and `/embed.js`, the custom
//! element a portal page loads. The rules live in `app::embed::ssr`.

use crate::AppState;
use app::{
    embed::{
        SESSION_HEADER,
        ssr::{self as embed, Exchange, Exchanged},
    },
    error::AppError,
};
use axum::{
    Json,
    extract::{ConnectInfo, State, rejection::JsonRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;

/// The portal page's custom element, `<gatehouse-security>`.
const EMBED_JS: &str = include_str!("embed.js");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeBody {
    token: String,
    /// The origin of the page that handed the token over (the frame's parent).
    parent: String,
}

/// An answer of the protocol: JSON with a message for people and a code for programs.
fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = (status, Json(json!({ "error": message, "code": code }))).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(app::error::RETRY_AFTER_SECS),
        );
    }
    response
}

/// `POST /embed/session`: an embed token for an embed session. 200 with the session token, its
/// expiry and the user; 401 with the reason for a refused token; 429 once a client has had too
/// many refusals (they count towards the API's failed-credential limit).
pub async fn exchange(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<ExchangeBody>, JsonRejection>,
) -> Response {
    let client = peer.ip();
    if state.api_throttle.blocked(client) {
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "Too many refused embed tokens from this address. Wait a minute and try again.",
        );
    }
    let Ok(Json(body)) = body else {
        return refused(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send JSON {\"token\": \"…\", \"parent\": \"https://portal.example.com\"}.",
        );
    };
    let previous = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok());
    let client_text = client.to_string();
    let outcome = embed::exchange(
        &state.ctx,
        Exchange {
            token: &body.token,
            parent: &body.parent,
            client: Some(&client_text),
            previous,
        },
    )
    .await;
    match outcome {
        Ok(Exchanged::Opened(session)) => {
            tracing::info!(user_id = session.user.id, origin = %session.origin, "embed session");
            Json(json!({
                "session": session.token,
                "expiresAt": session.expires_at,
                "tab": session.tab,
                "user": {
                    "email": session.user.email,
                    "name": session.user.name,
                    "role": session.user.role,
                },
            }))
            .into_response()
        }
        Ok(Exchanged::Refused(refusal)) => {
            state.api_throttle.fail(client);
            tracing::warn!(client = %client, reason = refusal.code(), "embed token refused");
            refused(StatusCode::UNAUTHORIZED, refusal.code(), refusal.message())
        }
        Err(e) => refusal_of(e),
    }
}

fn refusal_of(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    refused(status, "error", &e.to_string())
}

/// `GET /embed.js`. Revalidated on every use (`no-cache`), so that a portal picks up a new
/// Gatehouse at once; it is a few kilobytes.
pub async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        EMBED_JS,
    )
        .into_response()
}
