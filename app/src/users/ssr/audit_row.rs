//! The audit row of a change on the Users tab.

use crate::db::Conn;
use crate::{error::AppError, roles::UserInfo};

/// Writes the audit row of a change made by `admin`, in the change's transaction.
pub(crate) async fn record(
    conn: &mut Conn,
    admin: &UserInfo,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), AppError> {
    let client = crate::auth::ssr::client_addr();
    crate::audit::ssr::record(
        conn,
        crate::audit::ssr::Entry {
            actor: Some(admin),
            action,
            target: Some(target),
            detail,
            client_addr: client.as_deref(),
        },
    )
    .await
}
