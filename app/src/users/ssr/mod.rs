//! Principal storage. Every query that decides access goes through here.

pub mod applications;
mod audit_row;
pub mod changes;
pub mod groups;
pub mod index;
pub mod invitations;
pub mod list;

pub(crate) use audit_row::record;

use crate::db::{Conn, Flag, Pool};
pub(crate) use crate::principals::{GROUP_ROLE, end_sessions, parse_role};
use crate::{error::AppError, roles::Role, users::Email};

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub name: &'a str,
    pub role: Role,
    pub lockbox_approver: bool,
    pub password_hash: Option<&'a str>,
}

/// Inserts a user; an email that is already registered is refused as a field error.
pub async fn create(conn: &mut Conn, user: NewUser<'_>) -> Result<i64, AppError> {
    let result = sqlx::query_scalar(
        "INSERT INTO principals (kind, handle, name, role, lockbox_approver, password_hash) \
         VALUES ('user', $1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user.email.as_str())
    .bind(user.name)
    .bind(user.role.as_str())
    .bind(user.lockbox_approver)
    .bind(user.password_hash)
    .fetch_one(conn)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::invalid(
            "principal",
            "A user with this email already exists.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// How many users there are (groups and applications do not count).
pub async fn count(conn: &mut Conn) -> Result<i64, AppError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM principals WHERE kind = 'user'")
            .fetch_one(conn)
            .await?,
    )
}

/// How many users hold each role themselves, for the overview.
pub async fn count_by_role(pool: &Pool) -> Result<Vec<(Role, i64)>, AppError> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT role, COUNT(*) FROM principals WHERE kind = 'user' GROUP BY role")
            .fetch_all(pool)
            .await?;
    Ok(Role::ALL
        .into_iter()
        .map(|role| {
            let n = rows
                .iter()
                .find(|(name, _)| name == role.as_str())
                .map_or(0, |(_, n)| *n);
            (role, n)
        })
        .collect())
}

/// Refuses a change that would leave nobody who can sign in with the Admin role, directly or
/// through a group. Runs inside the change's transaction, after the change, before commit.
pub(crate) async fn ensure_an_admin_remains(conn: &mut Conn) -> Result<(), AppError> {
    let Flag(remains) = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM principals \
             WHERE role = 'admin' AND kind = 'user' AND password_hash IS NOT NULL \
             AND active = TRUE) \
         OR EXISTS (SELECT 1 FROM principals g \
             JOIN group_members m ON m.group_id = g.id \
             JOIN principals u ON u.id = m.user_id \
             WHERE g.role = 'admin' AND g.kind = 'group' AND u.password_hash IS NOT NULL \
             AND u.active = TRUE)",
    )
    .fetch_one(&mut *conn)
    .await?;
    if !remains {
        return Err(AppError::invalid(
            "role",
            "At least one Admin must remain. Make another user an Admin first.",
        ));
    }
    // While single sign-on is required, one of them keeps a password: the way back in when
    // the provider fails. (Only users are ever marked break-glass; their partial index finds
    // the few marked rows.)
    let Flag(glass) = sqlx::query_scalar(
        "SELECT NOT EXISTS (SELECT 1 FROM sso_settings WHERE require_sso = TRUE) \
         OR EXISTS (SELECT 1 FROM principals WHERE break_glass = TRUE AND role = 'admin' \
             AND active = TRUE AND password_hash IS NOT NULL)",
    )
    .fetch_one(&mut *conn)
    .await?;
    if glass {
        Ok(())
    } else {
        Err(AppError::invalid(
            "role",
            "While single sign-on is required, at least one Admin with a password must be break-glass. Mark another Admin break-glass first.",
        ))
    }
}
