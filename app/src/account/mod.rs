//! The caller's own account: the sign-in and sign-out pages, and the account page (a new
//! password, signing out everywhere). Pages and actions built on authentication (`auth`), which
//! itself knows nothing of them.

mod page;
mod sign_in;
mod sign_out;
#[cfg(feature = "ssr")]
mod ssr;

pub use page::AccountPage;
pub use sign_in::LoginRoute;
pub use sign_out::SignOutPage;

use crate::error::AppError;
use leptos::prelude::*;

/// Changes the caller's own password (the current one required) and ends their other
/// sessions; this one stays signed in. Any signed-in user.
#[server(prefix = "/rpc", endpoint = "account_password", output = crate::wire::JsonAnswer)]
pub async fn change_password(
    current: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    let me = crate::auth::ssr::require(crate::roles::Role::Viewer).await?;
    let ctx = crate::context::context()?;
    ssr::change_password(&ctx, &me, current, password, confirm).await
}

/// Ends every session of the caller, this one included. Any signed-in user.
#[server(prefix = "/rpc", endpoint = "account_sign_out_everywhere", output = crate::wire::JsonAnswer)]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    let me = crate::auth::ssr::require(crate::roles::Role::Viewer).await?;
    let ctx = crate::context::context()?;
    ssr::sign_out_everywhere(&ctx, &me).await
}
