//! User administration from the command line (scripts, first set-up, end-to-end fixtures).

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
    if password.expose_secret().chars().count() < 12 {
        return Err(StartupError::Config(
            "the password must have at least 12 characters".into(),
        ));
    }
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
