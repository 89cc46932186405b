//! The principals rows authentication reads: a user who may sign in, with their effective role
//! (their own or their groups', whichever is higher) and session epoch. The Users feature writes
//! these rows; sign-in, the session check and embed sessions only read them, from here, so that
//! authentication depends on no feature.

use crate::db::{Conn, Flag, Pool};
use crate::{
    email::Email,
    error::AppError,
    roles::{Role, UserInfo},
};

/// The highest role among a user's groups, or NULL: with the user's own role, their effective
/// role. Ranks are spelled out because roles are stored as words.
pub(crate) const GROUP_ROLE: &str = "(SELECT g.role FROM group_members m \
     JOIN principals g ON g.id = m.group_id WHERE m.user_id = p.id \
     ORDER BY CASE g.role WHEN 'admin' THEN 0 WHEN 'contributor' THEN 1 ELSE 2 END LIMIT 1)";

pub(crate) fn parse_role(value: &str) -> Result<Role, AppError> {
    Role::parse(value).ok_or_else(|| AppError::internal(format!("unknown role {value:?} stored")))
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    handle: String,
    name: String,
    role: String,
    group_role: Option<String>,
    #[sqlx(try_from = "Flag")]
    lockbox_approver: bool,
}

impl TryFrom<UserRow> for UserInfo {
    type Error = AppError;

    fn try_from(row: UserRow) -> Result<Self, AppError> {
        let own = parse_role(&row.role)?;
        let via_group = row.group_role.as_deref().map(parse_role).transpose()?;
        Ok(UserInfo {
            id: row.id,
            email: row.handle,
            name: row.name,
            role: via_group.map_or(own, |g| g.max(own)),
            lockbox_approver: row.lockbox_approver,
        })
    }
}

/// A user who may sign in, with their effective role and current session epoch: what every
/// request's session is checked against.
pub async fn find_session_user(pool: &Pool, id: i64) -> Result<Option<(UserInfo, i64)>, AppError> {
    #[derive(sqlx::FromRow)]
    struct SessionRow {
        #[sqlx(flatten)]
        user: UserRow,
        session_epoch: i64,
    }
    sqlx::query_as::<_, SessionRow>(&format!(
        "SELECT id, handle, name, role, {GROUP_ROLE} AS group_role, lockbox_approver, session_epoch \
         FROM principals p WHERE id = $1 AND kind = 'user' AND active = TRUE \
         AND (password_hash IS NOT NULL OR oidc_subject IS NOT NULL)"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(|row| Ok((UserInfo::try_from(row.user)?, row.session_epoch)))
    .transpose()
}

/// Ends every session of `user_id`; returns the new epoch.
pub async fn end_sessions(conn: &mut Conn, user_id: i64) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "UPDATE principals SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?)
}

/// The user with `email` and their password hash (absent until an invitation is accepted),
/// in one query: sign-in runs it for every attempt.
pub async fn find_credentials(
    db: impl sqlx::Executor<'_, Database = crate::db::Db>,
    email: &str,
) -> Result<Option<(UserInfo, Option<String>)>, AppError> {
    #[derive(sqlx::FromRow)]
    struct CredentialRow {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: Option<String>,
    }
    let Ok(email) = Email::parse(email) else {
        return Ok(None);
    };
    let row: Option<CredentialRow> = sqlx::query_as(&format!(
        "SELECT id, handle, name, role, {GROUP_ROLE} AS group_role, lockbox_approver, \
         password_hash FROM principals p WHERE handle = $1 AND kind = 'user' AND active = TRUE"
    ))
    .bind(email.as_str())
    .fetch_optional(db)
    .await?;
    row.map(|r| Ok((UserInfo::try_from(r.user)?, r.password_hash)))
        .transpose()
}
