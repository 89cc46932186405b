//! Facts about the environment that the Security page shows across tabs.

use crate::{error::AppError, roles::Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityOverview {
    /// How many users hold each role, most privileged last.
    pub users_by_role: Vec<(Role, i64)>,
}

/// Admin only, like everything on the Security page.
#[server(prefix = "/rpc", endpoint = "security_overview")]
pub async fn load_security_overview() -> Result<SecurityOverview, AppError> {
    let (ctx, _admin) = crate::auth::ssr::require(Role::Admin).await?;
    Ok(SecurityOverview {
        users_by_role: crate::users::ssr::count_by_role(&ctx.pool).await?,
    })
}
