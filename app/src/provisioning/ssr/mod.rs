//! The provisioning token (made, replaced, disabled, checked on every SCIM request), and the
//! users and groups that SCIM reads and writes.

pub mod directory;

use super::ProvisioningStatus;
use crate::db::Flag;
use crate::db::Pool;
use crate::{
    db::begin_write,
    error::AppError,
    roles::{Role, UserInfo},
    tokens,
};

/// Provisioning tokens start with this, so that secret scanners can find leaked ones.
pub const TOKEN_PREFIX: &str = "gatehouse_scim_";

/// The provisioning token as the audit log's actor of what the identity provider changes.
pub fn actor() -> UserInfo {
    UserInfo {
        id: 0,
        email: "provisioning token".into(),
        name: "Provisioning (SCIM)".into(),
        role: Role::Admin,
        lockbox_approver: false,
    }
}

pub async fn status(pool: &Pool) -> Result<ProvisioningStatus, AppError> {
    let row: Option<(Flag, i64, Option<i64>)> = sqlx::query_as(
        "SELECT enabled, created_at, last_used_at FROM provisioning_token WHERE id = 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((Flag(enabled), created, used)) => ProvisioningStatus {
            exists: true,
            enabled,
            created_at: Some(created),
            last_used_at: used,
        },
        None => ProvisioningStatus::default(),
    })
}

pub async fn new_token(pool: &Pool, admin: &UserInfo) -> Result<String, AppError> {
    let token = format!("{TOKEN_PREFIX}{}", tokens::random_token());
    let mut tx = begin_write(pool).await?;
    let Flag(replaced) = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM provisioning_token)")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO provisioning_token (id, digest, created_at, enabled, last_used_at) \
         VALUES (1, $1, unixepoch(), TRUE, NULL) \
         ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, \
         created_at = excluded.created_at, enabled = TRUE, last_used_at = NULL",
    )
    .bind(tokens::digest(&token).as_slice())
    .execute(&mut *tx)
    .await?;
    let action = if replaced {
        "provisioning.token.regenerate"
    } else {
        "provisioning.token.create"
    };
    crate::users::ssr::record(&mut tx, admin, action, "provisioning token", "").await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn disable(pool: &Pool, admin: &UserInfo) -> Result<(), AppError> {
    let mut tx = begin_write(pool).await?;
    let changed = sqlx::query("UPDATE provisioning_token SET enabled = FALSE WHERE enabled = TRUE")
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(AppError::Conflict("Provisioning is already off.".into()));
    }
    crate::users::ssr::record(
        &mut tx,
        admin,
        "provisioning.token.disable",
        "provisioning token",
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether `bearer` is the enabled provisioning token. By digest, so that the time taken says
/// nothing about how close a guess was. Its last use is written at most once a minute: an
/// identity provider's first sync sends thousands of requests, and each write would queue on
/// the database's one writer.
pub async fn check(pool: &Pool, bearer: &str) -> Result<bool, AppError> {
    if !bearer.starts_with(TOKEN_PREFIX) || bearer.len() > 128 {
        return Ok(false);
    }
    let digest = tokens::digest(bearer);
    let found: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT last_used_at FROM provisioning_token WHERE id = 1 AND enabled = TRUE AND digest = $1",
    )
    .bind(digest.as_slice())
    .fetch_optional(pool)
    .await?;
    let Some(last_used) = found else {
        return Ok(false);
    };
    if last_used.is_none_or(|at| at < crate::time_fmt::unix_now() - 60) {
        sqlx::query(
            "UPDATE provisioning_token SET last_used_at = unixepoch() WHERE id = 1 AND digest = $1",
        )
        .bind(digest.as_slice())
        .execute(pool)
        .await?;
    }
    Ok(true)
}
