//! The APIs tab: a primary and a secondary key that unlock the environment's REST API.

mod panel;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use panel::ApisRoute;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySlot {
    Primary,
    Secondary,
}

impl KeySlot {
    pub const ALL: [KeySlot; 2] = [KeySlot::Primary, KeySlot::Secondary];

    pub fn as_str(self) -> &'static str {
        match self {
            KeySlot::Primary => "primary",
            KeySlot::Secondary => "secondary",
        }
    }

    pub fn parse(value: &str) -> Option<KeySlot> {
        KeySlot::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// "Primary key" / "Secondary key", as the tab labels them.
    pub fn label(self) -> &'static str {
        match self {
            KeySlot::Primary => "Primary key",
            KeySlot::Secondary => "Secondary key",
        }
    }

    pub fn regenerate_label(self) -> &'static str {
        match self {
            KeySlot::Primary => "Regenerate primary",
            KeySlot::Secondary => "Regenerate secondary",
        }
    }
}

/// How long a replaced key keeps working, so that callers can switch without failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grace {
    Now,
    OneHour,
    OneDay,
}

impl Grace {
    pub const ALL: [Grace; 3] = [Grace::Now, Grace::OneHour, Grace::OneDay];

    pub fn seconds(self) -> i64 {
        match self {
            Grace::Now => 0,
            Grace::OneHour => 3600,
            Grace::OneDay => 86_400,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grace::Now => "now",
            Grace::OneHour => "one_hour",
            Grace::OneDay => "one_day",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Grace::Now => "Now",
            Grace::OneHour => "1 hour",
            Grace::OneDay => "24 hours",
        }
    }
}

/// Why a key is revealed; both are audited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevealPurpose {
    Show,
    Copy,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiState {
    NeverEnabled,
    Enabled,
    Disabled,
}

/// A key as the tab shows it: masked, with its usage. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySummary {
    pub slot: KeySlot,
    pub masked: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub request_count: i64,
    /// The key this one replaced, while its grace period lasts.
    pub previous: Option<RetiringKey>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiringKey {
    pub masked: String,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiOverview {
    pub state: ApiState,
    pub keys: Vec<KeySummary>,
}

#[cfg(feature = "ssr")]
async fn change(
    action: &str,
    detail: &str,
    apply: impl AsyncFnOnce(&mut crate::db::Conn, &ssr::ApiKeys) -> Result<(), AppError>,
) -> Result<ApiOverview, AppError> {
    use crate::{audit::ssr as audit, auth::ssr as auth, db::begin_write};
    let admin = auth::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    let client = auth::client_addr();
    let mut tx = begin_write(&ctx.pool).await?;
    apply(&mut tx, &ctx.api_keys).await?;
    audit::record(
        &mut tx,
        audit::Entry {
            actor: Some(&admin),
            action,
            target: None,
            detail,
            client_addr: client.as_deref(),
        },
    )
    .await?;
    // The other servers on the database read their rings again at once.
    crate::db::notify(&mut tx, crate::db::topic::API_KEYS).await?;
    tx.commit().await?;
    ssr::store::reload(&ctx.api_keys, &ctx.pool).await?;
    ssr::store::overview(&ctx.pool).await
}

#[server(prefix = "/rpc", endpoint = "api_overview", output = crate::wire::JsonAnswer)]
pub async fn load_api_overview() -> Result<ApiOverview, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    // Show usage up to this moment rather than as of the last batched write.
    ssr::store::flush_usage(&ctx.api_keys, &ctx.pool).await?;
    ssr::store::overview(&ctx.pool).await
}

/// Turns the API on; the first time, it creates both keys.
#[server(prefix = "/rpc", endpoint = "api_enable", output = crate::wire::JsonAnswer)]
pub async fn enable_api() -> Result<ApiOverview, AppError> {
    change("api.enable", "", async |tx, keys| {
        ssr::store::enable(tx, &keys.sealer).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "api_disable", output = crate::wire::JsonAnswer)]
pub async fn disable_api() -> Result<ApiOverview, AppError> {
    change("api.disable", "", async |tx, _| {
        ssr::store::disable(tx).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "api_regenerate", output = crate::wire::JsonAnswer)]
pub async fn regenerate_api_key(slot: KeySlot, grace: Grace) -> Result<ApiOverview, AppError> {
    let detail = format!("slot={} grace={}", slot.as_str(), grace.as_str());
    change("api.regenerate", &detail, async |tx, keys| {
        ssr::store::regenerate(tx, &keys.sealer, slot, grace).await
    })
    .await
}

/// The plaintext of a slot's key, for Show and Copy. Nothing else sends a key to the browser.
#[server(prefix = "/rpc", endpoint = "api_reveal", output = crate::wire::JsonAnswer)]
pub async fn reveal_api_key(slot: KeySlot, purpose: RevealPurpose) -> Result<String, AppError> {
    use crate::{audit::ssr as audit, auth::ssr as auth};
    let admin = auth::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    let key = ssr::store::reveal(&ctx.pool, &ctx.api_keys.sealer, slot).await?;
    let action = match purpose {
        RevealPurpose::Show => "api.show",
        RevealPurpose::Copy => "api.copy",
    };
    let client = auth::client_addr();
    let mut conn = ctx.pool.acquire().await?;
    audit::record(
        &mut conn,
        audit::Entry {
            actor: Some(&admin),
            action,
            target: None,
            detail: &format!("slot={}", slot.as_str()),
            client_addr: client.as_deref(),
        },
    )
    .await?;
    Ok(key)
}
