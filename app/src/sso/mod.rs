//! Single sign-on: administrators and users sign in with their organisation's OpenID Connect
//! provider. The server side (`ssr`) is the relying party; the sign-in page shows the button.

mod card;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use card::{Manage as ManageSingleSignOn, SingleSignOnCard};

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where the sign-in page's button posts: the server answers with a redirect to the provider.
pub const START_PATH: &str = "/auth/oidc/start";
/// Where the provider sends the browser back (`{GATEHOUSE_PUBLIC_URL}/auth/oidc/callback`).
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// What the sign-in page offers besides the password form. The server puts it into the page
/// request; it travels to the browser with the page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoOffer {
    /// The provider's name for the button (`None`: single sign-on is not set up).
    pub name: Option<String>,
    /// The provider's own sign-out, offered after signing out of Gatehouse when the provider
    /// has one (RP-initiated logout).
    pub end_session: Option<String>,
}

/// One step of the card's **Check**.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckStep {
    pub label: String,
    pub passed: bool,
    /// A plain reason, never a secret.
    pub reason: String,
}

/// The card as an Admin sees it: everything but the client secret, which is only described.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoView {
    /// Set by `GATEHOUSE_OIDC_*`: shown read-only.
    pub from_env: bool,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    /// How the secret is kept ("stored sealed", "in the Key Vault"), when there is one.
    pub secret: Option<String>,
    pub vault_secret: Option<String>,
    pub name: String,
    pub redirect_uri: String,
    pub required: bool,
    /// Break-glass users: email and role.
    pub break_glass: Vec<(String, String)>,
}

/// The card's settings. Admin only.
#[server(prefix = "/rpc", endpoint = "sso_settings", output = crate::wire::JsonAnswer)]
pub async fn sso_settings() -> Result<SsoView, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    settings::view(&ctx).await
}

/// **Check**: the provider's discovery document, issuer, keys and flows. Admin only.
#[server(prefix = "/rpc", endpoint = "sso_check", output = crate::wire::JsonAnswer)]
pub async fn sso_check(issuer: String) -> Result<Vec<CheckStep>, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    let issuer = settings::parse_issuer(&issuer)?;
    Ok(ssr::check(&ctx.sso, &issuer).await)
}

/// **Save**: checked again here, then stored (the secret sealed). Admin only.
#[server(prefix = "/rpc", endpoint = "sso_save", output = crate::wire::JsonAnswer)]
pub async fn sso_save(
    issuer: String,
    client_id: String,
    client_secret: String,
    vault_secret: String,
    name: String,
) -> Result<SsoView, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    settings::save_form(
        &ctx,
        &admin,
        (issuer, client_id, client_secret, vault_secret, name),
    )
    .await?;
    settings::view(&ctx).await
}

/// **Remove**: the card's settings go, and single sign-on is no longer required. Admin only.
#[server(prefix = "/rpc", endpoint = "sso_remove", output = crate::wire::JsonAnswer)]
pub async fn sso_remove() -> Result<(), AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    settings::remove_form(&ctx, &admin).await
}

/// **Require single sign-on** on or off. Admin only; at least one Admin must be break-glass.
#[server(prefix = "/rpc", endpoint = "sso_require", output = crate::wire::JsonAnswer)]
pub async fn sso_require(on: bool) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    settings::set_required(&ctx, &admin, on).await
}

/// Marks a user break-glass (password sign-in when single sign-on is required), or unmarks.
/// Admin only; the last break-glass Admin stays while single sign-on is required.
#[server(prefix = "/rpc", endpoint = "sso_break_glass", output = crate::wire::JsonAnswer)]
pub async fn sso_break_glass(email: String, on: bool) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    settings::set_break_glass(&ctx, &admin, &email, on).await
}
