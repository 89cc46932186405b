//! Single sign-on's two legs over plain HTTP: the sign-in page's button posts to `start`, which
//! sends the browser to the provider; the provider sends it back to `callback`, which signs the
//! user in as a password sign-in would (same session, roles, epoch) or says why not.

use crate::{AppState, http::same_origin_redirects::ToProvider};
use app::{
    audit::ssr as audit,
    auth::{
        return_path::{DEFAULT_LANDING, safe_return_path},
        ssr::sign_in,
    },
    error::AppError,
    sso::ssr::{Callback, Outcome, Refusal, Start},
};
use axum::{
    Form,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use std::net::SocketAddr;
use tower_sessions::{
    Session,
    cookie::{Cookie, SameSite, time::Duration},
};

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    next: String,
}

/// Marks a session that single sign-on started: signing out then offers the provider's own
/// sign-out.
pub const VIA_SSO: &str = "via_sso";

/// The flow cookie's name: `__Host-` where cookies are Secure, as the session cookie's.
fn cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-gatehouse-sso"
    } else {
        "gatehouse-sso"
    }
}

fn flow_cookie(state: &AppState, value: String, max_age: Duration) -> Cookie<'static> {
    Cookie::build((cookie_name(state), value))
        .path("/")
        .http_only(true)
        // Lax: the provider's redirect back is a top-level navigation from its site.
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .max_age(max_age)
        .build()
}

/// A page a person reads when single sign-on cannot go on: what happened and the way back.
fn page(status: StatusCode, message: &str) -> Response {
    use crate::http::plain_page;
    plain_page::page(status, "Single sign-on", message, plain_page::TO_SIGN_IN)
}

/// `POST /auth/oidc/start`: a new flow sealed into a short-lived cookie, and the redirect to
/// the provider's authorization endpoint.
pub async fn start(State(state): State<AppState>, Form(form): Form<StartForm>) -> Response {
    let next = safe_return_path(&form.next);
    let sealer = &state.ctx.api_keys.sealer;
    let settings = match app::sso::settings::current(&state.ctx).await {
        Ok(Some(settings)) => settings,
        Ok(None) => return not_set_up(),
        Err(AppError::Upstream(why)) => return provider_unreachable(&why),
        Err(e) => return e.into_response(),
    };
    match state.ctx.sso.begin(&settings, sealer, next).await {
        Ok(Start::ToProvider { url, cookie }) => {
            let cookie = flow_cookie(&state, cookie, Duration::seconds(app::sso::ssr::FLOW_SECS));
            let mut response = Redirect::to(&url).into_response();
            if let Ok(value) = cookie.to_string().parse() {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response.extensions_mut().insert(ToProvider);
            response
        }
        Ok(Start::Refused(refusal)) => provider_unreachable(&refusal.reason()),
        Err(e) => e.into_response(),
    }
}

fn not_set_up() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Single sign-on is not set up for this Gatehouse.",
    )
}

fn provider_unreachable(why: &str) -> Response {
    tracing::warn!(reason = %why, "single sign-on cannot start");
    page(
        StatusCode::BAD_GATEWAY,
        "The identity provider cannot be reached or is not set up correctly. Sign in with your password, or ask an administrator to check single sign-on.",
    )
}

/// `GET /auth/oidc/callback`: the provider's answer, checked against this browser's flow.
pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Query(answer): Query<Callback>,
) -> Response {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == cookie_name(&state))
        .map(|c| c.value().to_owned());
    let ctx = &state.ctx;
    let sealer = &ctx.api_keys.sealer;
    let settings = match app::sso::settings::current(ctx).await {
        Ok(Some(settings)) => settings,
        Ok(None) => return not_set_up(),
        Err(AppError::Upstream(why)) => return provider_unreachable(&why),
        Err(e) => return e.into_response(),
    };
    let outcome = ctx
        .sso
        .finish(&settings, (&ctx.pool, sealer), cookie.as_deref(), answer)
        .await;
    let mut response = match finish(&state, peer, &session, outcome).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    // The flow is over whichever way it went: its cookie goes.
    let gone = flow_cookie(&state, String::new(), Duration::ZERO);
    if let Ok(value) = gone.to_string().parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn finish(
    state: &AppState,
    peer: SocketAddr,
    session: &Session,
    outcome: Result<Outcome, AppError>,
) -> Result<Response, AppError> {
    let ctx = &state.ctx;
    let client = peer.ip().to_string();
    let mut conn = ctx.pool.acquire().await?;
    match outcome? {
        Outcome::SignedIn {
            user_id,
            email,
            next,
        } => {
            sign_in(&ctx.pool, session, user_id).await?;
            session.insert(VIA_SSO, true).await?;
            let user = app::principals::find_session_user(&ctx.pool, user_id)
                .await?
                .map(|(user, _)| user);
            audit::record(
                &mut conn,
                audit::Entry {
                    actor: user.as_ref(),
                    action: "auth.sign_in",
                    target: Some(&email),
                    detail: "single sign-on",
                    client_addr: Some(&client),
                },
            )
            .await?;
            tracing::info!(user_id, client = %client, "signed in with single sign-on");
            let next = next.as_deref().and_then(safe_return_path);
            Ok(Redirect::to(next.unwrap_or(DEFAULT_LANDING)).into_response())
        }
        Outcome::Refused { refusal, email } => {
            audit::record(
                &mut conn,
                audit::Entry {
                    actor: None,
                    action: "auth.sso_refused",
                    target: email.as_deref(),
                    detail: &refusal.reason(),
                    client_addr: Some(&client),
                },
            )
            .await?;
            tracing::info!(client = %client, reason = %refusal.reason(), "single sign-on refused");
            let status = match refusal {
                Refusal::Flow | Refusal::Replayed => StatusCode::BAD_REQUEST,
                _ => StatusCode::FORBIDDEN,
            };
            Ok(page(status, refusal.message()))
        }
    }
}
