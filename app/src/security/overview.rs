//! Facts about the environment that the Security page shows across tabs.

use crate::{error::AppError, roles::Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityOverview {
    /// How many users hold each role, most privileged last.
    pub users_by_role: Vec<(Role, i64)>,
    /// Customer Lockbox requests waiting for a decision (counted on the tab itself).
    pub lockbox_pending: i64,
}

/// Facts the server looks up before it renders a Security page (with the signed-in user, in
/// the same middleware) and that travel inside the page, so that the tab strip shows them
/// without a Resource: a Resource read in the page's shell made server rendering hang now and
/// then (see `auth::guard::CurrentUser`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageFacts {
    /// Customer Lockbox requests waiting for a decision.
    pub lockbox_pending: i64,
    /// Set while the linked Key Vault fails its checks.
    pub vault_alert: Option<VaultAlert>,
    /// Set while audit streaming has been behind for more than 15 minutes.
    #[serde(default)]
    pub stream_alert: Option<StreamAlert>,
}

/// An audit streaming destination has not received entries written more than 15 minutes ago:
/// since when the oldest of them waits, and how many wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamAlert {
    pub since: i64,
    pub behind: i64,
}

/// The linked Key Vault fails its checks: since when, and how many connections it leaves
/// without their credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultAlert {
    pub since: i64,
    pub connections: i64,
}

/// The Key Vault banner's state; the Key Vault tab updates it after a check.
#[derive(Clone, Copy, Debug)]
pub struct VaultBanner(pub RwSignal<Option<VaultAlert>>);

/// The pending count on the Customer Lockbox tab; the tab itself updates it after a change.
#[derive(Clone, Copy, Debug)]
pub struct LockboxPending(pub RwSignal<i64>);

pub fn provide_page_facts() {
    let facts = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<PageFacts>().copied())
                .unwrap_or_default()
        }
        #[cfg(not(feature = "ssr"))]
        PageFacts::default()
    });
    let facts = facts.into_inner();
    provide_context(LockboxPending(RwSignal::new(facts.lockbox_pending)));
    provide_context(VaultBanner(RwSignal::new(facts.vault_alert)));
    provide_context(facts.stream_alert.map(StreamBanner));
}

/// The audit streaming banner's state, as the page was rendered.
#[derive(Clone, Copy, Debug)]
pub struct StreamBanner(pub StreamAlert);

/// "Audit streaming has been behind since …: N entries wait", on every tab.
#[component]
pub fn StreamBannerView() -> impl IntoView {
    use_context::<Option<StreamBanner>>().flatten().map(|StreamBanner(alert)| {
        view! {
            <p class="notice notice-warn stream-banner" role="alert">
                "Audit streaming has been behind since " {crate::time_fmt::utc_minutes(alert.since)}
                ": " {alert.behind} " entries wait for the SIEM. See Audit streaming on the "
                <a href=super::address::tab_href("users")>"Users"</a> " tab."
            </p>
        }
    })
}

/// "Key Vault unreachable since …: N connections cannot get their credentials", on every tab.
#[component]
pub fn VaultBannerView() -> impl IntoView {
    let banner = use_context::<VaultBanner>();
    move || {
        banner.and_then(|b| b.0.get()).map(|alert| {
            let affected = match alert.connections {
                0 => "no connection uses it yet".to_owned(),
                1 => "1 connection cannot get its credentials".to_owned(),
                n => format!("{n} connections cannot get their credentials"),
            };
            view! {
                <p class="notice notice-warn vault-banner" role="alert">
                    "Key Vault unreachable since " {crate::time_fmt::utc_minutes(alert.since)} ": " {affected} ". "
                    <a href=super::address::tab_href("key-vault")>"Open Key Vault"</a>
                </p>
            }
        })
    }
}

/// Admin only, like everything on the Security page.
#[server(prefix = "/rpc", endpoint = "security_overview", output = crate::wire::JsonAnswer)]
pub async fn load_security_overview() -> Result<SecurityOverview, AppError> {
    crate::auth::ssr::require(Role::Admin).await?;
    let ctx = crate::context::context()?;
    Ok(SecurityOverview {
        users_by_role: crate::users::ssr::count_by_role(&ctx.pool).await?,
        lockbox_pending: crate::lockbox::ssr::pending_count(&ctx.pool).await?,
    })
}
