//! Who the caller is, and the guards that decide what they may do.
//!
//! The server guard (`ssr::require`) is the only authority; the UI guard (`guard::RequireRole`)
//! merely avoids showing what the server would refuse anyway.

pub mod guard;
mod login;
pub mod return_path;
mod sign_out;
pub use login::LoginRoute;
pub use sign_out::SignOutPage;
#[cfg(feature = "ssr")]
pub mod ssr;

use crate::{error::AppError, roles::UserInfo};
use leptos::prelude::*;

/// The signed-in user, or `None` for an anonymous visitor. Open to everyone by design.
#[server(prefix = "/rpc", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserInfo>, AppError> {
    ssr::current_session_user().await
}
