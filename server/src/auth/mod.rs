//! Sign-in and sign-out over plain HTML form posts, so they work without JavaScript.

pub mod bootstrap;
pub mod caller;
pub mod credential_throttle;
pub mod sso;

pub use app::auth::throttle::{LoginThrottle, client_key};
pub use credential_throttle::FailedKeyThrottle;

use crate::{
    AppState,
    http::{cross_site::is_cross_site, plain_page},
};
use app::{
    audit::ssr as audit,
    auth::{
        return_path::{DEFAULT_LANDING, login_url, safe_return_path},
        ssr::{SignedInUser, sign_in, verify_credentials},
    },
    context::AppContext,
    error::AppError,
    roles::Role,
    security::{PageFacts, VaultAlert},
};
use axum::{
    Form,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use caller::Caller;
use serde::Deserialize;
use std::net::SocketAddr;
use tower_sessions::Session;

/// Longer passwords are refused before hashing: argon2 over megabytes is a cheap way to burn CPU.
const MAX_PASSWORD_LEN: usize = 1024;

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// A sign-in that could not be answered: an error, or no hashing slot free in time (503 with
/// `Retry-After` and a page a person can read, since a browser form posted here).
pub enum LoginError {
    App(AppError),
    Busy,
}

impl From<AppError> for LoginError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<sqlx::Error> for LoginError {
    fn from(e: sqlx::Error) -> Self {
        Self::App(e.into())
    }
}

impl From<tower_sessions::session::Error> for LoginError {
    fn from(e: tower_sessions::session::Error) -> Self {
        Self::App(e.into())
    }
}

impl IntoResponse for LoginError {
    fn into_response(self) -> Response {
        match self {
            // A browser's form post: a page that says so, not JSON.
            Self::App(AppError::Unavailable) => (
                [(
                    axum::http::header::RETRY_AFTER,
                    app::error::RETRY_AFTER_SECS,
                )],
                plain_page::page(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    &AppError::Unavailable.to_string(),
                    plain_page::TO_SIGN_IN,
                ),
            )
                .into_response(),
            Self::App(e) => e.into_response(),
            Self::Busy => (
                [(
                    axum::http::header::RETRY_AFTER,
                    app::error::RETRY_AFTER_SECS,
                )],
                plain_page::page(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "Busy",
                    "Too many sign-ins at once. Try again in a few seconds.",
                    plain_page::TO_SIGN_IN,
                ),
            )
                .into_response(),
        }
    }
}

/// `POST /auth/login`: on success a new session id and a redirect to the page the user came
/// from; on failure back to the form with a message that does not say whether the account exists.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Redirect, LoginError> {
    let next = safe_return_path(&form.next);
    let back_with = |error: &str| Redirect::to(&login_url(Some(error), next));
    if state
        .ctx
        .password_throttle
        .exhausted(&state.ctx.pool, peer.ip(), &form.email)
        .await?
    {
        tracing::warn!(client = %peer.ip(), "sign-in throttled");
        return Ok(back_with("throttled"));
    }
    if form.password.len() > MAX_PASSWORD_LEN {
        return Ok(back_with("invalid"));
    }
    let client = peer.ip().to_string();
    let user = match verify_credentials(&state.ctx.pool, &form.email, form.password).await {
        Ok(user) => user,
        Err(AppError::Busy) => {
            tracing::warn!(client = %client, "sign-in refused: every hashing slot is busy");
            return Err(LoginError::Busy);
        }
        Err(e) => return Err(e.into()),
    };
    // The attempted address, capped: enough to spot a guessing run, never the password.
    let attempted: String = form.email.trim().chars().take(254).collect();
    let mut conn = state.ctx.pool.acquire().await?;
    audit::record(
        &mut conn,
        audit::Entry {
            actor: user.as_ref(),
            action: if user.is_some() {
                "auth.sign_in"
            } else {
                "auth.sign_in_failed"
            },
            // The account signed in to, or the address someone tried: never the password.
            target: Some(
                user.as_ref()
                    .map_or(attempted.as_str(), |u| u.email.as_str()),
            ),
            detail: "",
            client_addr: Some(&client),
        },
    )
    .await?;
    match user {
        Some(user) if !password_allowed(&mut conn, user.id).await? => {
            audit::record(
                &mut conn,
                audit::Entry {
                    actor: Some(&user),
                    action: "auth.sign_in_failed",
                    target: Some(&user.email),
                    detail: "single sign-on is required",
                    client_addr: Some(&client),
                },
            )
            .await?;
            Ok(back_with("sso_required"))
        }
        Some(user) => {
            sign_in(&state.ctx.pool, &session, user.id).await?;
            tracing::info!(user_id = user.id, client = %client, "signed in");
            Ok(Redirect::to(next.unwrap_or(DEFAULT_LANDING)))
        }
        None => {
            tracing::info!(client = %client, "sign-in failed");
            Ok(back_with("invalid"))
        }
    }
}

/// Whether a correct password signs `user_id` in: always, unless single sign-on is required
/// and the user is not break-glass.
async fn password_allowed(conn: &mut app::db::Conn, user_id: i64) -> Result<bool, AppError> {
    let app::db::Flag(allowed) = sqlx::query_scalar(
        "SELECT NOT EXISTS (SELECT 1 FROM sso_settings WHERE require_sso = TRUE) \
         OR EXISTS (SELECT 1 FROM principals WHERE id = $1 AND break_glass = TRUE)",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(allowed)
}

/// What a page shows beside its content, looked up before Leptos renders it (after
/// [`caller::identify`]): the Security page's alerts for Admins, the sign-in page's single
/// sign-on button.
pub async fn page_facts(
    State(ctx): State<AppContext>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::GET {
        let admin = request
            .extensions()
            .get::<SignedInUser>()
            .and_then(|SignedInUser(user)| user.as_ref())
            .is_some_and(|u| u.role == Role::Admin);
        // The Security page shows Admins the pending Lockbox requests on its tab strip and a
        // banner while the Key Vault fails its checks.
        if admin {
            match security_facts(&ctx).await {
                Ok(facts) => {
                    request.extensions_mut().insert(facts);
                }
                Err(e) => return e.into_response(),
            }
        }
        // The sign-in page's single sign-on button, when there is a provider.
        if request.uri().path() == "/login" {
            match app::sso::settings::offer(&ctx).await {
                Ok(offer) => {
                    request.extensions_mut().insert(offer);
                }
                Err(e) => return e.into_response(),
            }
        }
    }
    next.run(request).await
}

async fn security_facts(ctx: &AppContext) -> Result<PageFacts, AppError> {
    Ok(PageFacts {
        lockbox_pending: app::lockbox::ssr::pending_count(&ctx.pool).await?,
        stream_alert: app::audit::stream::alert(&ctx.pool)
            .await?
            .map(|(since, behind)| app::security::StreamAlert { since, behind }),
        vault_alert: app::key_vault::ssr::alert(&ctx.pool)
            .await?
            .map(|(since, connections)| VaultAlert { since, connections }),
    })
}

/// `GET /invitation?token=…`: moves the token into the browser's session and redirects to the
/// bare path, so that the token leaves the address bar, the history and any referrer after the
/// first load. The page and its server functions then use the token the session holds.
///
/// A token that names no invitation is counted against the sign-in throttle of the client
/// (429 once it is over) and is not kept: no session is created for it, and the page says the
/// link is not valid.
pub async fn exchange_invitation(
    State(ctx): State<AppContext>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let is_link = request.method() == Method::GET && request.uri().path() == "/invitation";
    let token = is_link
        .then(|| request.uri().query())
        .flatten()
        .and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("token="))
                .map(str::to_owned)
        })
        .filter(|t| !t.is_empty() && t.len() <= 64);
    let token = match token {
        Some(token) => match app::users::ssr::invitations::known(&ctx.pool, &token).await {
            Ok(true) => Some(token),
            Ok(false) => {
                let throttled = ctx.password_throttle.exhausted(&ctx.pool, peer.ip(), "");
                if throttled.await.unwrap_or(true) {
                    tracing::warn!(client = %peer.ip(), "invitation link guesses throttled");
                    return AppError::TooManyRequests.into_response();
                }
                None
            }
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    if let (Some(token), Some(session)) = (token, request.extensions().get::<Session>()) {
        match session
            .insert(app::users::ssr::invitations::HELD_TOKEN, token)
            .await
        {
            Ok(()) => {
                let mut response = Redirect::to("/invitation").into_response();
                response.headers_mut().insert(
                    axum::http::header::REFERRER_POLICY,
                    axum::http::HeaderValue::from_static("no-referrer"),
                );
                return response;
            }
            Err(e) => return AppError::from(e).into_response(),
        }
    }
    next.run(request).await
}

/// `POST /logout` (the header's button) or `GET /logout` typed into the address bar. A GET
/// from another site (an image, a link on a forum) is ignored, so it cannot sign anyone out.
pub async fn logout(
    State(ctx): State<AppContext>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    caller: Caller,
) -> Result<Redirect, AppError> {
    if is_cross_site(&headers) {
        return Ok(Redirect::to("/login"));
    }
    if let Caller::SessionUser(user) = caller {
        let mut conn = ctx.pool.acquire().await?;
        audit::record(
            &mut conn,
            audit::Entry {
                actor: Some(&user),
                action: "auth.sign_out",
                target: Some(&user.email),
                detail: "",
                client_addr: Some(&peer.ip().to_string()),
            },
        )
        .await?;
    }
    let via_sso = session.get::<bool>(sso::VIA_SSO).await?.unwrap_or(false);
    session.flush().await?;
    Ok(Redirect::to(if via_sso {
        "/login?signed_out=sso"
    } else {
        "/login"
    }))
}
