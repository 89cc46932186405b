//! Who an embed session acts for. Embed sessions are opened by the embed token exchange
//! (`crate::embed::ssr`); checking one on each request is authentication, and lives here with
//! the cookie session's check, so that the guard needs nothing from the embed feature.

use crate::db::Pool;
use crate::{error::AppError, principals, roles::UserInfo, time_fmt::unix_now, tokens::digest};

/// The request header that carries an embed session (lower case, as HTTP/2 sends it).
pub const SESSION_HEADER: &str = "gatehouse-embed-session";
/// Session tokens start with this, so that secret scanners can find leaked ones.
pub const SESSION_PREFIX: &str = "gatehouse_es_";

/// The user an embed session acts for, read afresh (role, removal, ended sessions apply on the
/// next call); none when the session is unknown, expired or ended.
pub async fn session_user(pool: &Pool, token: &str) -> Result<Option<UserInfo>, AppError> {
    if !token.starts_with(SESSION_PREFIX) || token.len() > 128 {
        return Ok(None);
    }
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT user_id, epoch FROM embed_sessions WHERE digest = $1 AND expires_at > $2",
    )
    .bind(digest(token).as_slice())
    .bind(unix_now())
    .fetch_optional(pool)
    .await?;
    let Some((user_id, epoch)) = row else {
        return Ok(None);
    };
    Ok(principals::find_session_user(pool, user_id)
        .await?
        .filter(|(_, current)| *current == epoch)
        .map(|(user, _)| user))
}
