//! Sign-in and sign-out over plain HTML form posts, so they work without JavaScript.

pub mod bootstrap;
mod throttle;

pub use throttle::LoginThrottle;

use crate::{AppState, http::cross_site::is_cross_site};
use app::{
    auth::{
        return_path::{DEFAULT_LANDING, login_url, safe_return_path},
        ssr::{sign_in, verify_credentials},
    },
    error::AppError,
};
use axum::{
    Form,
    extract::{ConnectInfo, State},
    http::HeaderMap,
    response::Redirect,
};
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

/// `POST /auth/login`: on success a new session id and a redirect to the page the user came
/// from; on failure back to the form with a message that does not say whether the account exists.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Redirect, AppError> {
    let next = safe_return_path(&form.next);
    let back_with = |error: &str| Redirect::to(&login_url(Some(error), next));
    if state.login_throttle.exhausted(peer.ip()) {
        tracing::warn!(client = %peer.ip(), "sign-in throttled");
        return Ok(back_with("throttled"));
    }
    if form.password.len() > MAX_PASSWORD_LEN {
        return Ok(back_with("invalid"));
    }
    match verify_credentials(&state.ctx.pool, &form.email, form.password).await? {
        Some(user) => {
            sign_in(&session, user.id).await?;
            tracing::info!(user_id = user.id, client = %peer.ip(), "signed in");
            Ok(Redirect::to(next.unwrap_or(DEFAULT_LANDING)))
        }
        None => {
            tracing::info!(client = %peer.ip(), "sign-in failed");
            Ok(back_with("invalid"))
        }
    }
}

/// `POST /logout` (the header's button) or `GET /logout` typed into the address bar. A GET
/// from another site (an image, a link on a forum) is ignored, so it cannot sign anyone out.
pub async fn logout(headers: HeaderMap, session: Session) -> Result<Redirect, AppError> {
    if !is_cross_site(&headers) {
        session.flush().await?;
    }
    Ok(Redirect::to("/login"))
}
