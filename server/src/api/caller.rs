//! Who may call the REST API: a handler names the caller it needs among its arguments (axum
//! extractors) and never authenticates by itself. The caller was worked out once, by the
//! identifying layer (`crate::auth::caller`); these decide whether it will do.
//! - [`ApiCaller`]: a subscription key or an application (`GET /api/v1/environment`);
//! - [`ApplicationCaller`]: an application, by its client secret;
//! - [`AdminApplication`]: an application with the Admin role;
//! - [`SupportGrant`]: a support application's approved, live Customer Lockbox request.
//!
//! Every refusal counts against the client's failed-credential throttle where a credential was
//! wrong, and a disabled API refuses everyone.

use super::ApiError;
use crate::{
    AppState,
    auth::caller::{Caller, Credential, client_of},
};
use app::{lockbox::ssr as lockbox, roles::Role, users::ssr::applications::Application};
use axum::{
    extract::FromRequestParts,
    http::{StatusCode, request::Parts},
};
use std::{borrow::Cow, net::IpAddr};

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
const SECRET_WRONG: &str =
    "The client secret is not valid. Send Authorization: Bearer <client secret>.";
const KEY_NEEDED: &str = "Missing API key: send it in the Ocp-Apim-Subscription-Key header, or an application's client secret as Authorization: Bearer <client secret>.";
const KEY_WRONG: &str = "The API key is not valid.";

/// Who may read the environment: a subscription key (no role of its own) or an application
/// (its role).
pub enum ApiCaller {
    Key,
    Application(Application),
}

/// Counts a failed attempt against `client`; too many in a minute turn 401s into 429s.
fn refuse(state: &AppState, client: IpAddr, message: &'static str) -> ApiError {
    if state.api_throttle.fail(client) {
        tracing::warn!(client = %client, "API credential attempts throttled");
        return THROTTLED;
    }
    ApiError::new(StatusCode::UNAUTHORIZED, message)
}

/// The REST API's answer to the caller the identifying layer found: an application, or else
/// (with `accept_key`) a subscription key. Either way, a disabled API refuses it.
fn admit(
    state: &AppState,
    parts: &Parts,
    accept_key: bool,
) -> Result<(ApiCaller, IpAddr), ApiError> {
    let client = client_of(&parts.extensions);
    let enabled = || state.ctx.api_keys.ring.snapshot().enabled;
    let refused = |message| Err(refuse(state, client, message));
    let caller = match Caller::of(parts) {
        Caller::Throttled => return Err(THROTTLED),
        Caller::Application(_) if !enabled() => return Err(DISABLED),
        Caller::Application(app) => ApiCaller::Application(app),
        Caller::SubscriptionKey if accept_key && !enabled() => return Err(DISABLED),
        Caller::SubscriptionKey if accept_key => ApiCaller::Key,
        Caller::WrongCredential(Credential::ClientSecret | Credential::ProvisioningToken)
        | Caller::ProvisioningClient => return refused(SECRET_WRONG),
        _ if !accept_key => return refused(SECRET_NEEDED),
        Caller::WrongCredential(Credential::SubscriptionKey) => return refused(KEY_WRONG),
        _ => return refused(KEY_NEEDED),
    };
    Ok((caller, client))
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        admit(state, parts, true).map(|(caller, _)| caller)
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
        match admit(state, parts, false)? {
            (ApiCaller::Application(app), client) => Ok(Self { app, client }),
            // Not reached: `admit` accepts no key here.
            (ApiCaller::Key, _) => Err(ApiError::new(StatusCode::UNAUTHORIZED, SECRET_NEEDED)),
        }
    }
}

/// An application with the Admin role, for what is itself sensitive (who has access, the audit
/// log's integrity); anyone else gets 403. Such handlers need to know no more than that.
pub struct AdminApplication;

impl FromRequestParts<AppState> for AdminApplication {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match admit(state, parts, false)?.0 {
            ApiCaller::Application(app) if app.role == Role::Admin => Ok(Self),
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
