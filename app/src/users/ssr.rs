//! User storage. Every query that decides access goes through here.

use crate::{
    error::AppError,
    roles::{Role, UserInfo},
    users::Email,
};
use sqlx::{SqliteConnection, SqlitePool};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    lockbox_approver: bool,
}

impl TryFrom<UserRow> for UserInfo {
    type Error = AppError;

    fn try_from(row: UserRow) -> Result<Self, AppError> {
        let role = Role::parse(&row.role)
            .ok_or_else(|| AppError::internal(format!("user {} has unknown role", row.id)))?;
        Ok(UserInfo {
            id: row.id,
            email: row.email,
            name: row.name,
            role,
            lockbox_approver: row.lockbox_approver,
        })
    }
}

pub async fn find_by_id(pool: &SqlitePool, id: i64) -> Result<Option<UserInfo>, AppError> {
    sqlx::query_as::<_, UserRow>(
        "SELECT id, email, name, role, lockbox_approver FROM users WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(UserInfo::try_from)
    .transpose()
}

/// The user with `email` and their password hash (absent until an invitation is accepted),
/// in one query: sign-in runs it for every attempt.
pub async fn find_credentials(
    pool: &SqlitePool,
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
    let row: Option<CredentialRow> = sqlx::query_as(
        "SELECT id, email, name, role, lockbox_approver, password_hash FROM users WHERE email = ?",
    )
    .bind(email.as_str())
    .fetch_optional(pool)
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
pub async fn create(conn: &mut SqliteConnection, user: NewUser<'_>) -> Result<i64, AppError> {
    let result = sqlx::query(
        "INSERT INTO users (email, name, role, lockbox_approver, password_hash) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(user.email.as_str())
    .bind(user.name)
    .bind(user.role.as_str())
    .bind(user.lockbox_approver)
    .bind(user.password_hash)
    .execute(conn)
    .await;
    match result {
        Ok(done) => Ok(done.last_insert_rowid()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::invalid(
            "email",
            "A user with this email already exists.",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn count(conn: &mut SqliteConnection) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await?)
}

/// How many users hold each role, for the overview.
pub async fn count_by_role(pool: &SqlitePool) -> Result<Vec<(Role, i64)>, AppError> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT role, COUNT(*) FROM users GROUP BY role")
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
