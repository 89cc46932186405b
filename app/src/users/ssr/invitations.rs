//! One-time invitation links: a random token whose SHA-256 is stored, valid for seven days and
//! for one use. Issuing a new one for a user retires their older links.

use super::record;
use crate::db::Flag;
use crate::db::{Conn, Pool};
use crate::tokens;
use crate::{
    db::begin_write,
    error::AppError,
    roles::UserInfo,
    time_fmt::unix_now,
    users::{INVITATION_DAYS, Invitation},
};

/// The path the invitee opens. The token travels in the query, which request logs leave out;
/// on the first load the server moves it into the browser's session and redirects to the bare
/// path, so it stays out of the address bar, history and referrers from then on.
pub fn path(token: &str) -> String {
    format!("/invitation?token={token}")
}

/// Where the session keeps an exchanged invitation token.
pub const HELD_TOKEN: &str = "invitation_token";

/// `token`, or when it is empty the one this browser's session holds.
pub async fn token_or_held(token: String) -> Result<String, AppError> {
    if !token.is_empty() {
        return Ok(token);
    }
    let session = crate::auth::ssr::request_session().await?;
    Ok(session.get::<String>(HELD_TOKEN).await?.unwrap_or_default())
}

pub async fn issue(conn: &mut Conn, user_id: i64) -> Result<String, AppError> {
    let token = tokens::random_token();
    sqlx::query("DELETE FROM invitations WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO invitations (user_id, token_digest, expires_at) VALUES ($1, $2, $3)")
        .bind(user_id)
        .bind(tokens::digest(&token).to_vec())
        .bind(unix_now() + INVITATION_DAYS * 86_400)
        .execute(conn)
        .await?;
    Ok(path(&token))
}

/// Whether `token` names an invitation (used, expired or not): a link worth keeping.
pub async fn known(pool: &Pool, token: &str) -> Result<bool, AppError> {
    let known: Flag =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM invitations WHERE token_digest = $1)")
            .bind(tokens::digest(token).to_vec())
            .fetch_one(pool)
            .await?;
    Ok(known.0)
}

#[derive(sqlx::FromRow)]
struct Row {
    user_id: i64,
    email: String,
    name: String,
    expires_at: i64,
    used_at: Option<i64>,
}

/// The invitation `token` opens, or why it cannot be used.
async fn find(conn: &mut Conn, token: &str) -> Result<Row, AppError> {
    let invalid = || {
        AppError::invalid(
            "token",
            "This invitation link is not valid. Check that you copied all of it.",
        )
    };
    if token.is_empty() || token.len() > 64 {
        return Err(invalid());
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT i.user_id, u.handle AS email, u.name, i.expires_at, i.used_at \
         FROM invitations i JOIN principals u ON u.id = i.user_id WHERE i.token_digest = $1",
    )
    .bind(tokens::digest(token).to_vec())
    .fetch_optional(conn)
    .await?;
    let row = row.ok_or_else(invalid)?;
    if row.used_at.is_some() {
        return Err(AppError::Gone(
            "This invitation has already been used. Sign in with your email and password.".into(),
        ));
    }
    if row.expires_at <= unix_now() {
        return Err(AppError::Gone(
            "This invitation has expired. Ask an administrator for a new link.".into(),
        ));
    }
    Ok(row)
}

pub async fn check(pool: &Pool, token: &str) -> Result<Invitation, AppError> {
    let mut conn = pool.acquire().await?;
    let row = find(&mut conn, token).await?;
    Ok(Invitation {
        email: row.email,
        name: row.name,
        expires_at: row.expires_at,
    })
}

/// Sets the invitee's name and password (already hashed) and uses the token up, all at once;
/// returns the user's id for signing them in.
pub async fn accept(
    pool: &Pool,
    token: &str,
    name: &str,
    password_hash: &str,
) -> Result<i64, AppError> {
    let mut tx = begin_write(pool).await?;
    // Checked again inside the transaction: two tabs accepting at once get one success.
    let row = find(&mut tx, token).await?;
    sqlx::query(
        "UPDATE principals SET name = $1, password_hash = $2, password_chosen = TRUE WHERE id = $3",
    )
    .bind(name)
    .bind(password_hash)
    .bind(row.user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE invitations SET used_at = unixepoch() WHERE token_digest = $1")
        .bind(tokens::digest(token).to_vec())
        .execute(&mut *tx)
        .await?;
    let invitee = UserInfo {
        id: row.user_id,
        email: row.email.clone(),
        name: name.to_owned(),
        role: crate::roles::Role::Viewer,
        lockbox_approver: false,
    };
    record(
        &mut tx,
        &invitee,
        "user.invitation_accepted",
        &row.email,
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(row.user_id)
}
