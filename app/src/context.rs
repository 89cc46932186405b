//! The server's context: the database and every feature's runtime, provided to server
//! functions as Leptos context and held by the server's handlers. The composition root: it
//! names every feature, and authentication names none of it (a server function asks `auth` for
//! its caller and this module for its context).

use crate::{auth::ssr::SessionPolicy, db::Pool, error::AppError};
use leptos::prelude::use_context;

/// What server functions need from the server, provided to them as Leptos context.
#[derive(Clone, Debug)]
pub struct AppContext {
    pub pool: Pool,
    pub sessions: SessionPolicy,
    pub api_keys: std::sync::Arc<crate::api_keys::ssr::ApiKeys>,
    pub lockbox: crate::lockbox::settings::LockboxSettings,
    pub key_vault: std::sync::Arc<crate::key_vault::runtime::VaultRuntime>,
    pub embed: crate::embed::ssr::config::EmbedConfig,
    /// The Users list's search index (kept up to date in the background and before each
    /// list query).
    pub principals: std::sync::Arc<crate::users::ssr::index::Index>,
    /// Password attempts per client and per account: sign-in and every re-entered password.
    pub password_throttle: crate::auth::throttle::LoginThrottle,
    /// Single sign-on through the organisation's OpenID provider, when configured.
    pub sso: std::sync::Arc<crate::sso::ssr::Sso>,
    /// Whether this server does the database's background work (one server per database).
    pub singleton: std::sync::Arc<crate::db::Singleton>,
}

/// The server's context, as every server function reads it.
pub fn context() -> Result<AppContext, AppError> {
    use_context::<AppContext>().ok_or_else(|| AppError::internal("AppContext was not provided"))
}
