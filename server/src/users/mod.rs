//! User administration from the command line (scripts, first set-up, end-to-end fixtures).

use crate::{config::Config, error::StartupError, prepare_database};
use app::{
    auth::ssr::hash_password,
    roles::Role,
    users::{Email, ssr as users},
};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};

#[derive(Args, Debug)]
pub struct AddUser {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// viewer, contributor or admin
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    #[arg(long, default_value_t = false)]
    pub lockbox_approver: bool,
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| "expected viewer, contributor or admin".to_owned())
}

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
