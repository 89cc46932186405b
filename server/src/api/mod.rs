//! The REST API under `/api/v1`, unlocked by the keys of the APIs tab.

mod connections;
mod lockbox;
mod openapi;

use crate::{AppState, auth::client_key};
use app::{
    api_keys::ssr::ring::Verdict,
    error::AppError,
    roles::Role,
    users::{
        ListQuery,
        ssr::{
            applications::{self as app_store, Application},
            list,
        },
    },
};
use axum::{
    Json, Router,
    extract::{ConnectInfo, Query, Request, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use std::{
    borrow::Cow,
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Instant,
};

/// The header Azure API Management uses, kept so that existing callers work unchanged.
pub const KEY_HEADER: &str = "ocp-apim-subscription-key";

/// Per-client limit on failed key checks, so that keys cannot be guessed at speed. Once a
/// client is over it, its requests are refused before any credential is looked at, until the
/// limiter would admit it again.
#[derive(Clone)]
pub struct FailedKeyThrottle {
    failures: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    blocked_until: Arc<Mutex<HashMap<IpAddr, Instant>>>,
}

impl FailedKeyThrottle {
    pub fn per_minute(failures: u32) -> Self {
        let failures = NonZeroU32::new(failures).unwrap_or(NonZeroU32::MIN);
        Self {
            failures: Arc::new(RateLimiter::keyed(Quota::per_minute(failures))),
            blocked_until: Arc::default(),
        }
    }

    pub(crate) fn blocked(&self, client: IpAddr) -> bool {
        let now = Instant::now();
        self.blocked_until
            .lock()
            .ok()
            .and_then(|b| b.get(&client_key(client)).copied())
            .is_some_and(|until| until > now)
    }

    /// Counts a failure; true when the client is now over the limit (and blocked).
    pub(crate) fn fail(&self, client: IpAddr) -> bool {
        let key = client_key(client);
        match self.failures.check_key(&key) {
            Ok(()) => false,
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                if let Ok(mut blocked) = self.blocked_until.lock() {
                    blocked.insert(key, Instant::now() + wait);
                }
                true
            }
        }
    }

    pub fn forget_idle(&self) {
        self.failures.retain_recent();
        let now = Instant::now();
        if let Ok(mut blocked) = self.blocked_until.lock() {
            blocked.retain(|_, until| *until > now);
        }
    }
}

/// The REST layer's error: a status and a message for the caller, as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl ApiError {
    const fn new(status: StatusCode, message: &'static str) -> Self {
        Self {
            status,
            message: Cow::Borrowed(message),
        }
    }
}

const DISABLED: ApiError = ApiError::new(
    StatusCode::FORBIDDEN,
    "The API is disabled for this environment. An administrator can enable it on the APIs tab.",
);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static(app::error::RETRY_AFTER_SECS),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 and 7235: say which credentials would do.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"gatehouse\""),
            );
        }
        response
    }
}

impl From<AppError> for ApiError {
    /// The same status and message a server function would answer with; an internal failure's
    /// cause was logged where it happened and is not sent.
    fn from(e: AppError) -> Self {
        ApiError {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: Cow::Owned(e.to_string()),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/environment", get(environment))
        .route("/api/v1/principals", get(principals))
        .route("/api/v1/audit/verify", get(verify_audit))
        .route("/api/v1/openapi.json", get(openapi::document))
        .merge(lockbox::router())
        .merge(connections::router())
}

/// Who is calling: a subscription key (no role of its own) or an application (its role).
enum Caller {
    Key,
    Application(Application),
}

const THROTTLED: ApiError = ApiError::new(
    StatusCode::TOO_MANY_REQUESTS,
    "Too many requests with missing or wrong credentials. Wait a minute.",
);

/// Counts a failed attempt against `client`; too many in a minute turn 401s into 429s.
fn refuse(throttle: &FailedKeyThrottle, client: IpAddr, message: &'static str) -> ApiError {
    if throttle.fail(client) {
        tracing::warn!(client = %client, "API credential attempts throttled");
        return THROTTLED;
    }
    ApiError::new(StatusCode::UNAUTHORIZED, message)
}

/// Authenticates a request by its `Authorization: Bearer` application secret, or else by its
/// subscription key. Either way, a disabled API refuses it.
async fn authenticate(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
    accept_key: bool,
) -> Result<Caller, ApiError> {
    let keys = &state.ctx.api_keys;
    let throttle = &state.api_throttle;
    // A throttled client's guesses are not even looked at until its time is up.
    if throttle.blocked(client) {
        return Err(THROTTLED);
    }
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        let secret = authorization
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let app = match secret {
            Some(secret) => app_store::find_by_secret(&state.ctx.pool, secret).await?,
            None => None,
        };
        let Some(app) = app else {
            return Err(refuse(
                throttle,
                client,
                "The client secret is not valid. Send Authorization: Bearer <client secret>.",
            ));
        };
        if !keys.ring.snapshot().enabled {
            return Err(DISABLED);
        }
        return Ok(Caller::Application(app));
    }
    if !accept_key {
        return Err(refuse(
            throttle,
            client,
            "Send an application's client secret as Authorization: Bearer <client secret>.",
        ));
    }
    let presented = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
    match presented.map(|key| keys.ring.verify(key, app::time_fmt::unix_now())) {
        Some(Verdict::Valid(_)) => Ok(Caller::Key),
        Some(Verdict::Disabled) => Err(DISABLED),
        None => Err(refuse(
            throttle,
            client,
            "Missing API key: send it in the Ocp-Apim-Subscription-Key header, or an application's client secret as Authorization: Bearer <client secret>.",
        )),
        Some(_) => Err(refuse(throttle, client, "The API key is not valid.")),
    }
}

/// Endpoints only applications use: a subscription key identifies nobody.
async fn application(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Application, ApiError> {
    match authenticate(state, peer.ip(), headers, false).await? {
        Caller::Application(app) => Ok(app),
        Caller::Key => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Send an application's client secret as Authorization: Bearer <client secret>.",
        )),
    }
}

async fn environment(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Response, ApiError> {
    authenticate(&state, peer.ip(), request.headers(), true).await?;
    let body = state.ctx.api_keys.ring.snapshot().environment_json.clone();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Deserialize)]
struct PrincipalsParams {
    #[serde(default)]
    q: String,
    sort: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

/// Endpoints for applications with the Admin role; anyone else gets 403 with `refusal`.
async fn admin_application(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    refusal: &'static str,
) -> Result<Application, ApiError> {
    match authenticate(state, peer.ip(), headers, false).await? {
        Caller::Application(app) if app.role == Role::Admin => Ok(app),
        _ => Err(ApiError::new(StatusCode::FORBIDDEN, refusal)),
    }
}

/// `GET /api/v1/principals`: the Users tab's list for automation. Applications with the Admin
/// role only: who has access is itself sensitive.
async fn principals(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    params: Result<Query<PrincipalsParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    admin_application(
        &state,
        peer,
        &headers,
        "Listing principals needs an application with the Admin role.",
    )
    .await?;
    let page = list::page(&state.ctx.pool, &state.ctx.principals, &list_query(params)?).await?;
    Ok(Json(page).into_response())
}

/// `GET /api/v1/audit/verify`: whether the audit log's chain is intact, or where it breaks.
/// Applications with the Admin role only.
async fn verify_audit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    admin_application(
        &state,
        peer,
        &headers,
        "Verifying the audit log needs an application with the Admin role.",
    )
    .await?;
    let mut conn = state.ctx.pool.acquire().await.map_err(AppError::from)?;
    let verdict = app::audit::chain::verify_here(&mut conn).await?;
    Ok(Json(verdict).into_response())
}

/// The list's parameters, strictly: an API says what it did not understand.
fn list_query(
    params: Result<Query<PrincipalsParams>, QueryRejection>,
) -> Result<ListQuery, ApiError> {
    let bad = |message| ApiError::new(StatusCode::BAD_REQUEST, message);
    let Ok(Query(params)) = params else {
        return Err(bad("The query string is malformed."));
    };
    let query = ListQuery::from_params(|k| match k {
        "q" => Some(params.q.clone()),
        "sort" => params.sort.clone(),
        _ => None,
    });
    if params
        .sort
        .as_deref()
        .is_some_and(|s| query.sort_param() != s)
    {
        return Err(bad(
            "sort must be name, email, type or role, with - in front for descending.",
        ));
    }
    // Cursors as given (the lenient reading drops a bad one): `validated` refuses what is not
    // shaped like one, and the list what does not decode to the sort's values.
    let query = ListQuery {
        q: params.q,
        after: params.after,
        before: params.before,
        ..query
    };
    query.validated().map_err(|e| ApiError {
        status: StatusCode::BAD_REQUEST,
        message: Cow::Owned(e.to_string()),
    })
}
