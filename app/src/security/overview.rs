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
}

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
    provide_context(LockboxPending(RwSignal::new(
        facts.into_inner().lockbox_pending,
    )));
}

/// Admin only, like everything on the Security page.
#[server(prefix = "/rpc", endpoint = "security_overview")]
pub async fn load_security_overview() -> Result<SecurityOverview, AppError> {
    let (ctx, _admin) = crate::auth::ssr::require(Role::Admin).await?;
    Ok(SecurityOverview {
        users_by_role: crate::users::ssr::count_by_role(&ctx.pool).await?,
        lockbox_pending: crate::lockbox::ssr::pending_count(&ctx.pool).await?,
    })
}
