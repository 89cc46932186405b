//! Principal storage. Every query that decides access goes through here.

pub mod applications;
mod audit_row;
pub mod changes;
pub mod groups;
pub mod index;
pub mod invitations;
pub mod list;
pub(crate) mod tokens;

pub(crate) use audit_row::record;

use crate::db::Flag;
use crate::db::{Conn, Pool};
use crate::{
    error::AppError,
    roles::{Role, UserInfo},
    users::Email,
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
