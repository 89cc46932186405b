//! Who calls the REST API, worked out before a handler runs: a handler names the caller it
//! needs among its arguments (axum extractors) and never authenticates by itself.
//! - [`Caller`]: a subscription key or an application (`GET /api/v1/environment`);
//! - [`ApplicationCaller`]: an application, by its client secret;
//! - [`AdminApplication`]: an application with the Admin role;
//! - [`SupportGrant`]: a support application's approved, live Customer Lockbox request.
//!
//! Every refusal counts against the client's failed-credential throttle where a credential was
//! wrong, and a disabled API refuses everyone.

use super::{ApiError, KEY_HEADER};
use crate::AppState;
use app::{
    api_keys::ssr::ring::Verdict,
    lockbox::ssr as lockbox,
    roles::Role,
    users::ssr::applications::{self as app_store, Application},
};
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, StatusCode, header, request::Parts},
};
use std::{
    borrow::Cow,
    net::{IpAddr, SocketAddr},
};

/// The header that names the approved request a support call relies on.
pub const REQUEST_HEADER: &str = "lockbox-request";

/// A Lockbox request's ID, as a path segment or the header carries it.
pub(super) fn request_id(raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::new(
            StatusCode::BAD_REQUEST,
            "A Lockbox request ID is a positive whole number.",
        ))
}

const DISABLED: ApiError = ApiError::new(
    StatusCode::FORBIDDEN,
    "The API is disabled for this environment. An administrator can enable it on the APIs tab.",
);

const THROTTLED: ApiError = ApiError::new(
    StatusCode::TOO_MANY_REQUESTS,
    "Too many requests with missing or wrong credentials. Wait a minute.",
);

const SECRET_NEEDED: &str =
    "Send an application's client secret as Authorization: Bearer <client secret>.";

/// Who is calling: a subscription key (no role of its own) or an application (its role).
pub enum Caller {
    Key,
    Application(Application),
}

/// The client's address, as the trusted-proxy layer left it.
fn client(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// Counts a failed attempt against `client`; too many in a minute turn 401s into 429s.
fn refuse(state: &AppState, client: IpAddr, message: &'static str) -> ApiError {
    if state.api_throttle.fail(client) {
        tracing::warn!(client = %client, "API credential attempts throttled");
        return THROTTLED;
    }
    ApiError::new(StatusCode::UNAUTHORIZED, message)
}

/// Authenticates a request by its `Authorization: Bearer` application secret, or else (with
/// `accept_key`) by its subscription key. Either way, a disabled API refuses it.
async fn authenticate(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
    accept_key: bool,
) -> Result<Caller, ApiError> {
    let keys = &state.ctx.api_keys;
    // A throttled client's guesses are not even looked at until its time is up.
    if state.api_throttle.blocked(client) {
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
                state,
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
        return Err(refuse(state, client, SECRET_NEEDED));
    }
    let presented = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
    match presented.map(|key| keys.ring.verify(key, app::time_fmt::unix_now())) {
        Some(Verdict::Valid(_)) => Ok(Caller::Key),
        Some(Verdict::Disabled) => Err(DISABLED),
        None => Err(refuse(
            state,
            client,
            "Missing API key: send it in the Ocp-Apim-Subscription-Key header, or an application's client secret as Authorization: Bearer <client secret>.",
        )),
        Some(_) => Err(refuse(state, client, "The API key is not valid.")),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state, client(parts), &parts.headers, true).await
    }
}

/// An application, by its client secret: what acts for someone must know whom. `client` is
/// the caller's address, for the audit log.
pub struct ApplicationCaller {
    pub app: Application,
    pub client: IpAddr,
}

impl FromRequestParts<AppState> for ApplicationCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let client = client(parts);
        match authenticate(state, client, &parts.headers, false).await? {
            Caller::Application(app) => Ok(Self { app, client }),
            Caller::Key => Err(ApiError::new(StatusCode::UNAUTHORIZED, SECRET_NEEDED)),
        }
    }
}

/// An application with the Admin role, for what is itself sensitive (who has access, the audit
/// log's integrity); anyone else gets 403. Such handlers need to know no more than that.
pub struct AdminApplication;

impl FromRequestParts<AppState> for AdminApplication {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(state, client(parts), &parts.headers, false).await? {
            Caller::Application(app) if app.role == Role::Admin => Ok(Self),
            _ => Err(ApiError {
                status: StatusCode::FORBIDDEN,
                message: Cow::Owned(format!(
                    "{} needs an application with the Admin role.",
                    parts.uri.path()
                )),
            }),
        }
    }
}

/// The approved request a support application's call names in its `Lockbox-Request` header,
/// live now; otherwise 403 with the reason it does not count (not a support application;
/// pending, denied, expired, revoked, another application's).
pub struct SupportGrant {
    app: Application,
    client: IpAddr,
    id: i64,
    ticket: String,
}

impl FromRequestParts<AppState> for SupportGrant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApplicationCaller { app, client } =
            ApplicationCaller::from_request_parts(parts, state).await?;
        lockbox::require_support(&app)?;
        let Some(raw) = parts.headers.get(REQUEST_HEADER) else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Customer data needs an approved Lockbox request: send its ID in the Lockbox-Request header.",
            ));
        };
        let id = request_id(raw.to_str().unwrap_or_default())?;
        match lockbox::live_access(&state.ctx.pool, id, Some(app.id)).await? {
            lockbox::LiveAccess::Live { ticket, .. } => Ok(Self {
                app,
                client,
                id,
                ticket,
            }),
            lockbox::LiveAccess::Refused(reason) => Err(ApiError {
                status: StatusCode::FORBIDDEN,
                message: Cow::Owned(reason),
            }),
        }
    }
}

impl SupportGrant {
    /// Records one use of the access (the request's history and the audit log), with the
    /// caller's address: `what` was read.
    pub async fn record_use(&self, state: &AppState, what: &str) -> Result<(), ApiError> {
        let client = self.client.to_string();
        lockbox::record_access(
            &state.ctx.pool,
            &self.app,
            Some(&client),
            (self.id, &self.ticket),
            what,
        )
        .await?;
        Ok(())
    }
}
