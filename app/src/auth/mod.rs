//! Who the caller is, and the guards that decide what they may do.
//!
//! The server guard (`ssr::require`) is the only authority; the UI guard (`guard::RequireRole`)
//! merely avoids showing what the server would refuse anyway.

#[cfg(feature = "ssr")]
pub mod embed_session;
pub mod guard;
pub mod return_path;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod throttle;

use crate::{error::AppError, roles::UserInfo};
use leptos::prelude::*;

/// The signed-in user, or `None` for an anonymous visitor. Open to everyone by design.
#[server(prefix = "/rpc", endpoint = "current_user", output = crate::wire::JsonAnswer)]
pub async fn current_user() -> Result<Option<UserInfo>, AppError> {
    ssr::current_session_user().await
}

/// A password someone chooses: at least this long, and at most this many bytes (argon2 over
/// megabytes would be a cheap way to burn CPU).
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The rules for a new password and its confirmation, by field (`password`, `confirm`).
pub fn check_new_password(password: &str, confirm: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "password",
            format!("Choose a password of at least {MIN_PASSWORD_CHARS} characters."),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::invalid(
            "password",
            "A password has at most 1024 characters.",
        ));
    }
    if password != confirm {
        return Err(AppError::invalid("confirm", "The passwords do not match."));
    }
    Ok(())
}
