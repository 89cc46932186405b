//! The first administrator of an empty database.

use crate::error::StartupError;
use app::db::Pool;
use app::{
    auth::ssr::hash_password,
    db::begin_write,
    roles::Role,
    users::{Email, ssr as users},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// A password an administrator would choose is at least this long.
const MIN_PASSWORD_LEN: usize = 12;

/// Creates the first Admin when there are no users. Without a configured password it generates
/// one (192 bits from a CSPRNG seeded by the OS) and logs it once: that line is the only copy.
pub async fn ensure_admin(
    pool: &Pool,
    email: &str,
    password: Option<&SecretString>,
) -> Result<(), StartupError> {
    let email = Email::parse(email)
        .map_err(|m| StartupError::Config(format!("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: {m}")))?;
    let mut tx = begin_write(pool).await?;
    if users::count(&mut tx).await? > 0 {
        return Ok(());
    }
    let (password, generated) = match password {
        Some(p) if p.expose_secret().chars().count() < MIN_PASSWORD_LEN => {
            return Err(StartupError::Config(format!(
                "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD must have at least {MIN_PASSWORD_LEN} characters"
            )));
        }
        Some(p) => (p.expose_secret().to_owned(), false),
        None => {
            let mut bytes = [0u8; 24];
            rand::rng().fill_bytes(&mut bytes);
            (URL_SAFE_NO_PAD.encode(bytes), true)
        }
    };
    let hash = hash_password(password.clone()).await?;
    users::create(
        &mut tx,
        users::NewUser {
            email: &email,
            name: "Administrator",
            role: Role::Admin,
            lockbox_approver: true,
            password_hash: Some(&hash),
        },
    )
    .await?;
    tx.commit().await?;
    if generated {
        // Straight to the operator's terminal, once: never through the log pipeline, whose
        // lines end up in collectors and archives.
        eprintln!(
            "\nGatehouse: the first administrator is {email}, with the generated password\n\n    {password}\n\nThis is the only time it is shown. Sign in and keep it safe.\n"
        );
        tracing::warn!(
            email = %email,
            "created the first administrator with a generated password (printed once to standard error, not logged)"
        );
    } else {
        tracing::info!(email = %email, "created the first administrator from GATEHOUSE_BOOTSTRAP_ADMIN_*");
    }
    Ok(())
}
