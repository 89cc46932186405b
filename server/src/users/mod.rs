//! User administration from the command line (scripts, first set-up, end-to-end fixtures, and
//! an operator's way back in).

use crate::{
    config::{AddUser, Config},
    error::StartupError,
    prepare_database,
};
use app::{
    auth::ssr::hash_password,
    users::{Email, ssr as users},
};
use secrecy::{ExposeSecret, SecretString};

/// Adds a local user whose password is read from standard input (never from the command line,
/// where other users of the machine could read it).
pub async fn add_user(
    config: &Config,
    args: &AddUser,
    password: SecretString,
) -> Result<i64, StartupError> {
    let email = Email::parse(&args.email).map_err(|m| StartupError::Config(m.to_owned()))?;
    let name = args.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(StartupError::Config(
            "--name must have 1 to 200 characters".into(),
        ));
    }
    check_password(&password)?;
    let pool = prepare_database(config).await?;
    let hash = hash_password(password.expose_secret().to_owned()).await?;
    let mut conn = pool.acquire().await?;
    let id = users::create(
        &mut conn,
        users::NewUser {
            email: &email,
            name,
            role: args.role,
            lockbox_approver: args.lockbox_approver,
            password_hash: Some(&hash),
        },
    )
    .await?;
    tracing::info!(user_id = id, email = %email, role = %args.role, "user added");
    Ok(id)
}

/// The rules for a password typed on the command line, as on the invitation page.
fn check_password(password: &SecretString) -> Result<(), StartupError> {
    let chars = password.expose_secret().chars().count();
    if chars < app::auth::MIN_PASSWORD_CHARS
        || password.expose_secret().len() > app::auth::MAX_PASSWORD_BYTES
    {
        return Err(StartupError::Config(format!(
            "the password must have at least {} characters (and at most {} bytes)",
            app::auth::MIN_PASSWORD_CHARS,
            app::auth::MAX_PASSWORD_BYTES
        )));
    }
    Ok(())
}

/// Gives a user a new password from the command line (how an operator gets back in when every
/// Admin has lost theirs): the last-admin rules do not apply, every session of the user ends,
/// and the change is audited as done from the command line. The password counts as set by the
/// operator, not chosen by the user (see Lockbox approver).
pub async fn reset_password(
    config: &Config,
    email: &str,
    password: SecretString,
) -> Result<(), StartupError> {
    let email = Email::parse(email).map_err(|m| StartupError::Config(m.to_owned()))?;
    check_password(&password)?;
    let pool = prepare_database(config).await?;
    let hash = hash_password(password.expose_secret().to_owned()).await?;
    let mut tx = app::db::begin_write(&pool).await?;
    let id: i64 = sqlx::query_scalar(
        "UPDATE principals SET password_hash = $1, password_chosen = FALSE \
         WHERE handle = $2 AND kind = 'user' RETURNING id",
    )
    .bind(&hash)
    .bind(email.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StartupError::Config(format!("no user has the email {email}")))?;
    app::principals::end_sessions(&mut tx, id).await?;
    // Links issued before no longer choose this user's password.
    sqlx::query("DELETE FROM invitations WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    app::audit::ssr::record(
        &mut tx,
        app::audit::ssr::Entry {
            actor: None,
            action: "user.password_reset",
            target: Some(email.as_str()),
            detail: "from the command line",
            client_addr: None,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = id, email = %email, "password reset from the command line");
    Ok(())
}
