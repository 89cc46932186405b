//! The server-side guard, sessions and password checks.

use crate::db::Pool;
use crate::{
    auth::throttle::LoginThrottle,
    error::AppError,
    principals,
    roles::{Role, UserInfo},
    time_fmt::unix_now,
};
use leptos::prelude::use_context;
use std::{sync::LazyLock, time::Duration};
use tower_sessions::Session;

/// The user a request comes from, as the server's identifying layer (`server::auth::caller`)
/// found it before Leptos renders a page or runs a server function, and put into the
/// request's extensions (`None`: anonymous, or a caller that is not a user).
#[derive(Clone, Debug)]
pub struct SignedInUser(pub Option<UserInfo>);

const USER_ID: &str = "user_id";
const SIGNED_IN_AT: &str = "signed_in_at";
const LAST_SEEN: &str = "last_seen";
/// The user's session epoch at sign-in; the session ends when the user's epoch moves on.
const EPOCH: &str = "epoch";
/// Refreshing the idle timer writes the session; once a minute is precise enough.
const TOUCH_EVERY_SECS: i64 = 60;

/// Binds `session` to `user_id` under a fresh session id (so a planted id is worthless), at the
/// user's current session epoch.
pub async fn sign_in(pool: &Pool, session: &Session, user_id: i64) -> Result<(), AppError> {
    let epoch: i64 = sqlx::query_scalar("SELECT session_epoch FROM principals WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await?
        .unwrap_or_default();
    session.cycle_id().await?;
    session.insert(USER_ID, user_id).await?;
    let now = unix_now();
    session.insert(SIGNED_IN_AT, now).await?;
    session.insert(LAST_SEEN, now).await?;
    session.insert(EPOCH, epoch).await?;
    Ok(())
}

/// Keeps `session` valid across an epoch change the user made themselves (a password change).
pub async fn keep_session(session: &Session, epoch: i64) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(EPOCH, epoch).await?;
    Ok(())
}

/// Session lifetimes: `idle` ends a session nobody used for that long (enforced by the store's
/// expiry), `absolute` ends every session that old regardless of use.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

/// Resolves the session to a user, reading the role from the database on every call so that a
/// role change or removal applies on the user's next request.
pub async fn authorize(
    pool: &Pool,
    policy: SessionPolicy,
    session: &Session,
) -> Result<Option<UserInfo>, AppError> {
    let Some(user_id) = session.get::<i64>(USER_ID).await? else {
        return Ok(None);
    };
    let now = unix_now();
    let signed_in_at = session.get::<i64>(SIGNED_IN_AT).await?.unwrap_or(0);
    if now - signed_in_at > policy.absolute.as_secs() as i64 {
        session.flush().await?;
        return Ok(None);
    }
    let Some((user, epoch)) = principals::find_session_user(pool, user_id).await? else {
        session.flush().await?;
        return Ok(None);
    };
    // Sessions from before epochs existed carry none: they count as epoch 0, the default.
    if session.get::<i64>(EPOCH).await?.unwrap_or(0) != epoch {
        session.flush().await?;
        return Ok(None);
    }
    let last_seen = session.get::<i64>(LAST_SEEN).await?.unwrap_or(0);
    if now - last_seen >= TOUCH_EVERY_SECS {
        session.insert(LAST_SEEN, now).await?;
    }
    Ok(Some(user))
}

/// The embed session token of the current server-function request (the embedded page's
/// header), if it carries one.
fn embed_session_token() -> Option<String> {
    use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .headers
            .get(crate::auth::embed_session::SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

/// The cookie session of the current server-function or page request. An embedded page has
/// none (it holds an embed session instead): what needs one, such as changing the password,
/// is refused there.
pub async fn request_session() -> Result<Session, AppError> {
    if embed_session_token().is_some() {
        return Err(AppError::NotPermitted(
            "This is not available in an embedded page: open Gatehouse itself.".into(),
        ));
    }
    leptos_axum::extract::<Session>()
        .await
        .map_err(AppError::internal)
}

/// The caller the identifying layer put into the request (`SignedInUser`). A request it did
/// not see is refused rather than worked out again here.
fn caller() -> Result<Option<UserInfo>, AppError> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<SignedInUser>().cloned())
        .map(|SignedInUser(user)| user)
        .ok_or_else(|| AppError::internal("the request reached a server function unidentified"))
}

/// The client's address as the server saw it (after the trusted-proxy layer).
fn client_ip() -> Option<std::net::IpAddr> {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    })
}

/// The client's address, for the audit log.
pub fn client_addr() -> Option<String> {
    client_ip().map(|ip| ip.to_string())
}

/// Re-authentication (OWASP ASVS 7.5.3): the caller types their password again before a
/// sensitive step. Counted against the sign-in throttle (per client and per account) before it
/// is checked, so a stolen session cannot guess the password faster than the sign-in form.
/// A wrong password is an error on `field`, with the form's own words for it.
pub async fn confirm_password(
    (pool, throttle): (&Pool, &LoginThrottle),
    me: &UserInfo,
    password: String,
    (field, wrong): (&str, &str),
) -> Result<(), AppError> {
    let client = client_ip().unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    if throttle.exhausted(pool, client, &me.email).await? {
        tracing::warn!(client = %client, "re-entered password throttled");
        return Err(AppError::TooManyRequests);
    }
    let wrong = || AppError::invalid(field, wrong);
    if password.is_empty() || password.len() > crate::auth::MAX_PASSWORD_BYTES {
        return Err(wrong());
    }
    match verify_credentials(pool, &me.email, password).await? {
        Some(user) if user.id == me.id => Ok(()),
        _ => Err(wrong()),
    }
}

/// The signed-in user of the current server-function or page request, if any.
pub async fn current_session_user() -> Result<Option<UserInfo>, AppError> {
    caller()
}

/// The one server-side guard: every server function that is not public starts with it.
/// Anonymous callers get `Unauthorized`, signed-in callers below `min` get `Forbidden`.
pub async fn require(min: Role) -> Result<UserInfo, AppError> {
    admit(caller()?, min)
}

/// The rule itself, for handlers outside Leptos (the CSV export) that authorize on their own.
pub fn admit(user: Option<UserInfo>, min: Role) -> Result<UserInfo, AppError> {
    match user {
        None => Err(AppError::Unauthorized),
        Some(user) if user.role >= min => Ok(user),
        Some(_) => Err(AppError::Forbidden),
    }
}

/// A real argon2id hash of a password nobody has, checked when the email is unknown so that an
/// unknown account costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password_auth::generate_hash("gatehouse: no such account"));

/// Computes the dummy hash ahead of the first sign-in (it takes as long as a real one).
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// Argon2 hashes running at once: one per core. Each takes about 19 MiB and a core for tens of
/// milliseconds; unbounded, a flood of sign-ins from many addresses grows memory without limit.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// How long a sign-in waits for a hashing slot before it is told to come back later.
const HASH_WAIT: Duration = Duration::from_secs(2);

/// Runs argon2 work off the async runtime, in one of the bounded slots.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let permit = tokio::time::timeout(HASH_WAIT, HASHING.acquire())
        .await
        .map_err(|_| AppError::Busy)?
        .map_err(AppError::internal)?;
    let out = tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)?;
    drop(permit);
    Ok(out)
}

/// Hashes a password with argon2id (deliberately slow), in a bounded slot.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    hashing(move || password_auth::generate_hash(password)).await
}

/// Returns the user when `email` and `password` match, `None` otherwise, in the same time for an
/// unknown email as for a wrong password.
pub async fn verify_credentials(
    pool: &Pool,
    email: &str,
    password: String,
) -> Result<Option<UserInfo>, AppError> {
    let found = principals::find_credentials(pool, email).await?;
    let hash = found
        .as_ref()
        .and_then(|(_, hash)| hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let matches = hashing(move || password_auth::verify_password(password, &hash).is_ok()).await?;
    Ok(found.filter(|_| matches).map(|(user, _)| user))
}
