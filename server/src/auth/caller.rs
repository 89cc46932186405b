//! Who a request comes from, worked out once by [`identify`] for every request (pages, server
//! functions, the REST API and SCIM alike) and kept in its extensions as a [`Caller`]. Nothing
//! after it looks at a credential again:
//! - server functions and pages read the signed-in user through `app::auth::ssr::require`
//!   (from the `SignedInUser` this layer puts beside the caller); sign-out and the audit export
//!   take the `Caller` itself;
//! - REST handlers name the caller they need as an extractor (`api::caller`: `ApiCaller`,
//!   `ApplicationCaller`, `AdminApplication`, `SupportGrant`);
//! - SCIM requires `scim::ProvisioningClient` for all of its routes.
//!
//! Refusing is the extractor's job, in its surface's words and format: this layer only finds
//! out. A credential that does not check out becomes [`Caller::WrongCredential`], and the
//! extractor that refuses it counts it against the client's failed-credential throttle.

use crate::AppState;
use app::{
    auth::{
        embed_session::{self, SESSION_HEADER},
        ssr::{SignedInUser, authorize},
    },
    error::AppError,
    provisioning::ssr::{self as provisioning, TOKEN_PREFIX as PROVISIONING_PREFIX},
    roles::UserInfo,
    time_fmt::unix_now,
    users::ssr::applications::{self, Application},
};
use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{Extensions, HeaderMap, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{
    convert::Infallible,
    net::{IpAddr, Ipv4Addr, SocketAddr},
};
use tower_sessions::Session;

/// The header Azure API Management uses for a subscription key, kept so that existing callers
/// work unchanged.
pub const KEY_HEADER: &str = "ocp-apim-subscription-key";

/// Who a request comes from.
#[derive(Clone, Debug)]
pub enum Caller {
    /// No credential at all, or a session that ended.
    Anonymous,
    /// A browser's cookie session.
    SessionUser(UserInfo),
    /// A page embedded in a portal, by its embed session (never its cookie).
    EmbedSessionUser(UserInfo),
    /// An application, by its client secret (`Authorization: Bearer`).
    Application(Application),
    /// A valid subscription key of the APIs tab (no role of its own). Whether the API is
    /// enabled is the REST extractor's question.
    SubscriptionKey,
    /// The identity provider's provisioning client, by the SCIM bearer token.
    ProvisioningClient,
    /// A credential that did not check out.
    WrongCredential(Credential),
    /// A client over its failed-credential limit: its credentials are not even looked at.
    Throttled,
}

/// The kind of credential a request presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    ClientSecret,
    SubscriptionKey,
    ProvisioningToken,
}

impl Caller {
    /// The user behind a session, as the app's guard sees it.
    pub fn signed_in(&self) -> Option<UserInfo> {
        match self {
            Self::SessionUser(user) | Self::EmbedSessionUser(user) => Some(user.clone()),
            _ => None,
        }
    }

    /// The caller [`identify`] put into the request; a request it did not see is anonymous.
    pub fn of(parts: &Parts) -> Self {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .unwrap_or(Self::Anonymous)
    }
}

/// For the routes outside Leptos that act for a signed-in user (sign-out, the audit export).
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::of(parts))
    }
}

/// The client's address, as the trusted-proxy layer left it in a request's extensions.
pub fn client_of(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The layer: works out the caller and puts it (and, for the app's guard, `SignedInUser`) into
/// the request. Only a failure to find out (the database) answers here.
pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let client = client_of(request.extensions());
    let session = request.extensions().get::<Session>();
    let caller = match work_out(&state, client, request.headers(), session).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    request
        .extensions_mut()
        .insert(SignedInUser(caller.signed_in()));
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// In order: an embed session (an embedded page has no cookie to fall back on), a cookie
/// session's user, then the credentials of the REST API and SCIM, which only a client under
/// its failed-credential limit gets looked at.
async fn work_out(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
    session: Option<&Session>,
) -> Result<Caller, AppError> {
    let pool = &state.ctx.pool;
    if let Some(token) = headers.get(SESSION_HEADER) {
        let token = token.to_str().unwrap_or_default();
        return Ok(embed_session::session_user(pool, token)
            .await?
            .map_or(Caller::Anonymous, Caller::EmbedSessionUser));
    }
    if let Some(session) = session
        && let Some(user) = authorize(&state.ctx.pool, state.ctx.sessions, session).await?
    {
        return Ok(Caller::SessionUser(user));
    }
    // A client over its limit is refused by whatever needs a caller, with credentials or not.
    if state.api_throttle.blocked(client) {
        return Ok(Caller::Throttled);
    }
    let authorization = headers.get(header::AUTHORIZATION);
    let key = headers.get(KEY_HEADER);
    if authorization.is_none() && key.is_none() {
        return Ok(Caller::Anonymous);
    }
    if let Some(authorization) = authorization {
        // Any other scheme is a client secret that is not one.
        let bearer = authorization
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        return Ok(if bearer.starts_with(PROVISIONING_PREFIX) {
            match provisioning::check(pool, bearer).await? {
                true => Caller::ProvisioningClient,
                false => Caller::WrongCredential(Credential::ProvisioningToken),
            }
        } else {
            match applications::find_by_secret(pool, bearer).await? {
                Some(app) => Caller::Application(app),
                None => Caller::WrongCredential(Credential::ClientSecret),
            }
        });
    }
    use app::api_keys::ssr::ring::Verdict;
    let key = key.and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok(match state.ctx.api_keys.ring.verify(key, unix_now()) {
        Verdict::Valid(_) | Verdict::Disabled => Caller::SubscriptionKey,
        Verdict::Invalid => Caller::WrongCredential(Credential::SubscriptionKey),
    })
}
