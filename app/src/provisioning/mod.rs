//! Provisioning: an identity provider (Microsoft Entra ID, Okta, Keycloak) creates, updates,
//! deactivates and deletes users and groups through SCIM 2.0 (`/scim/v2`, served by the
//! server crate), authenticated by one bearer token that an Admin manages on the Users tab.

mod panel;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use panel::{Manage as ManageProvisioning, ProvisioningCard};

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The token's state as the Users tab shows it; the token itself is shown once, when made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningStatus {
    /// Whether a token exists at all.
    pub exists: bool,
    pub enabled: bool,
    /// Unix seconds.
    pub created_at: Option<i64>,
    /// Unix seconds; the last authenticated SCIM request.
    pub last_used_at: Option<i64>,
}

#[server(prefix = "/rpc", endpoint = "provisioning_status", output = crate::wire::JsonAnswer)]
pub async fn load_provisioning() -> Result<ProvisioningStatus, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::status(&ctx.pool).await
}

/// A new provisioning token (the first, or one that replaces the current one at once), shown
/// once. Enables provisioning.
#[server(prefix = "/rpc", endpoint = "provisioning_token", output = crate::wire::JsonAnswer)]
pub async fn new_provisioning_token() -> Result<String, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::new_token(&ctx.pool, &admin).await
}

/// Refuses the token from now on (Regenerate makes a working one again).
#[server(prefix = "/rpc", endpoint = "provisioning_disable", output = crate::wire::JsonAnswer)]
pub async fn disable_provisioning() -> Result<(), AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::disable(&ctx.pool, &admin).await
}
