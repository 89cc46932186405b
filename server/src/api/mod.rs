//! The REST API under `/api/v1`, unlocked by the keys of the APIs tab.

mod openapi;

use crate::AppState;
use app::api_keys::{
    KeySlot,
    ssr::{ApiKeys, ring::Verdict},
};
use axum::{
    Json, Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
};

/// The header Azure API Management uses, kept so that existing callers work unchanged.
pub const KEY_HEADER: &str = "ocp-apim-subscription-key";

/// Per-address limit on failed key checks, so that keys cannot be guessed at speed.
#[derive(Clone)]
pub struct FailedKeyThrottle(Arc<DefaultKeyedRateLimiter<IpAddr>>);

impl FailedKeyThrottle {
    pub fn per_minute(failures: u32) -> Self {
        let failures = NonZeroU32::new(failures).unwrap_or(NonZeroU32::MIN);
        Self(Arc::new(RateLimiter::keyed(Quota::per_minute(failures))))
    }

    pub fn forget_idle(&self) {
        self.0.retain_recent();
    }
}

/// The REST layer's error: a status and a message for the caller, as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: &'static str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/environment", get(environment))
        .route("/api/v1/openapi.json", get(openapi::document))
}

/// The caller's key slot, once `headers` carry a valid key for an enabled API.
fn authenticate(
    keys: &ApiKeys,
    throttle: &FailedKeyThrottle,
    client: IpAddr,
    headers: &HeaderMap,
) -> Result<KeySlot, ApiError> {
    let presented = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
    let verdict = presented.map(|key| keys.ring.verify(key, app::time_fmt::unix_now()));
    match verdict {
        Some(Verdict::Valid(slot)) => Ok(slot),
        Some(Verdict::Disabled) => Err(ApiError {
            status: StatusCode::FORBIDDEN,
            message: "The API is disabled for this environment. An administrator can enable it on the APIs tab.",
        }),
        failure => {
            if throttle.0.check_key(&client).is_err() {
                tracing::warn!(client = %client, "API key attempts throttled");
                return Err(ApiError {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    message: "Too many requests with a missing or wrong API key. Wait a minute.",
                });
            }
            Err(ApiError {
                status: StatusCode::UNAUTHORIZED,
                message: if failure.is_none() {
                    "Missing API key: send it in the Ocp-Apim-Subscription-Key header."
                } else {
                    "The API key is not valid."
                },
            })
        }
    }
}

async fn environment(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Response, ApiError> {
    let keys = &state.ctx.api_keys;
    authenticate(keys, &state.api_throttle, peer.ip(), request.headers())?;
    let body = keys.ring.snapshot().environment_json.clone();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
