use crate::{error::AppError, roles::UserInfo};
use sqlx::SqliteConnection;

/// One entry. `detail` names what was touched (a key slot, a setting), never its secret value.
pub struct Entry<'a> {
    pub actor: Option<&'a UserInfo>,
    pub action: &'a str,
    pub detail: &'a str,
    pub client_addr: Option<&'a str>,
}

/// Writes `entry` on `conn`, inside the caller's transaction when there is one, so that the
/// change and its record commit together.
pub async fn record(conn: &mut SqliteConnection, entry: Entry<'_>) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor_email, action, detail, client_addr) \
         VALUES (unixepoch(), ?, ?, ?, ?, ?)",
    )
    .bind(entry.actor.map(|a| a.id))
    .bind(entry.actor.map(|a| a.email.as_str()))
    .bind(entry.action)
    .bind(entry.detail)
    .bind(entry.client_addr)
    .execute(conn)
    .await?;
    Ok(())
}
