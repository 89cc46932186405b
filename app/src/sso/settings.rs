//! Where single sign-on's settings come from: the environment (for infrastructure as code; the
//! card shows them read-only) or the **Single sign-on** card, stored in `sso_settings` with the
//! client secret sealed under the master key or named in the linked Key Vault.

use super::ssr::SsoSettings;
use crate::{
    api_keys::ssr::sealing::{Aad, SealedColumn},
    context::AppContext,
    db::{Conn, Flag},
    error::AppError,
};

/// Associated data of the sealed client secret.
const SECRET_AAD: &[u8] = b"gatehouse sso client secret";

/// The sealed client secret, for a master-key rotation.
pub const SEALED: [SealedColumn; 1] = [SealedColumn {
    table: "sso_settings",
    nonce: "secret_nonce",
    ciphertext: "secret_ciphertext",
    aad: Aad::Fixed(SECRET_AAD),
}];

/// The card's stored row.
#[derive(sqlx::FromRow)]
pub struct Stored {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub secret_nonce: Option<Vec<u8>>,
    pub secret_ciphertext: Option<Vec<u8>>,
    pub vault_secret: Option<String>,
    pub name: String,
    #[sqlx(try_from = "Flag")]
    pub require_sso: bool,
}

pub async fn stored(conn: &mut Conn) -> Result<Stored, AppError> {
    Ok(sqlx::query_as(
        "SELECT issuer, client_id, secret_nonce, secret_ciphertext, vault_secret, name, \
         require_sso FROM sso_settings WHERE id = 1",
    )
    .fetch_one(conn)
    .await?)
}

/// The settings in force: the environment's, else the card's (`None`: not set up). The client
/// secret is opened or read from the vault here, so a vault that fails is said as such.
pub async fn current(ctx: &AppContext) -> Result<Option<SsoSettings>, AppError> {
    if let Some(env) = ctx.sso.from_env() {
        return Ok(Some(env.clone()));
    }
    let row = stored(&mut *ctx.pool.acquire().await?).await?;
    let (Some(issuer), Some(client_id)) = (row.issuer, row.client_id) else {
        return Ok(None);
    };
    let client_secret = match (row.vault_secret, row.secret_nonce, row.secret_ciphertext) {
        (Some(name), ..) => crate::key_vault::ssr::secret_value(ctx, &name, true).await?,
        (None, Some(nonce), Some(sealed)) => {
            let plain = ctx
                .api_keys
                .sealer
                .open(&nonce, &sealed, SECRET_AAD)
                .map_err(AppError::internal)?;
            String::from_utf8(plain).map_err(AppError::internal)?
        }
        _ => return Ok(None),
    };
    Ok(Some(SsoSettings {
        issuer,
        client_id,
        client_secret,
        name: row.name,
        redirect_uri: ctx.sso.redirect_uri().to_owned(),
    }))
}

/// The client secret as the card saves it.
pub enum Secret {
    /// Sealed under the master key.
    Typed(String),
    /// The name of a secret in the linked Key Vault.
    Vault(String),
    /// The one already stored.
    Keep,
}

/// Stores the card's settings (checked by the caller first).
pub async fn save(
    ctx: &AppContext,
    conn: &mut Conn,
    (issuer, client_id, name): (&str, &str, &str),
    secret: Secret,
) -> Result<(), AppError> {
    let (nonce, sealed, vault) = match secret {
        Secret::Typed(value) => {
            let s = ctx.api_keys.sealer.seal(value.as_bytes(), SECRET_AAD);
            (Some(s.nonce), Some(s.ciphertext), None)
        }
        Secret::Vault(name) => (None, None, Some(name)),
        Secret::Keep => {
            sqlx::query(
                "UPDATE sso_settings SET issuer = $1, client_id = $2, name = $3 WHERE id = 1",
            )
            .bind(issuer)
            .bind(client_id)
            .bind(name)
            .execute(&mut *conn)
            .await?;
            return Ok(());
        }
    };
    sqlx::query(
        "UPDATE sso_settings SET issuer = $1, client_id = $2, name = $3, secret_nonce = $4, \
         secret_ciphertext = $5, vault_secret = $6 WHERE id = 1",
    )
    .bind(issuer)
    .bind(client_id)
    .bind(name)
    .bind(nonce)
    .bind(sealed)
    .bind(vault)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets the card's settings; single sign-on is then no longer required either.
pub async fn remove(conn: &mut Conn) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE sso_settings SET issuer = NULL, client_id = NULL, secret_nonce = NULL, \
         secret_ciphertext = NULL, vault_secret = NULL, require_sso = FALSE WHERE id = 1",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What the sign-in page offers: the provider's name while single sign-on is set up.
pub async fn offer(ctx: &AppContext) -> Result<super::SsoOffer, AppError> {
    let (issuer, client_id, name) = match ctx.sso.from_env() {
        Some(env) => (env.issuer.clone(), env.client_id.clone(), env.name.clone()),
        None => {
            let row = stored(&mut *ctx.pool.acquire().await?).await?;
            match (row.issuer, row.client_id) {
                (Some(issuer), Some(client_id)) => (issuer, client_id, row.name),
                _ => return Ok(super::SsoOffer::default()),
            }
        }
    };
    Ok(super::SsoOffer {
        name: Some(name),
        end_session: ctx.sso.end_session(&issuer, &client_id),
    })
}

/// The origins the sign-in page's form may be sent on to (its CSP's `form-action`).
pub async fn origins(ctx: &AppContext) -> Result<Vec<String>, AppError> {
    let issuer = match ctx.sso.from_env() {
        Some(env) => Some(env.issuer.clone()),
        None => stored(&mut *ctx.pool.acquire().await?).await?.issuer,
    };
    Ok(issuer.map(|i| ctx.sso.origins(&i)).unwrap_or_default())
}

pub async fn view(ctx: &AppContext) -> Result<super::SsoView, AppError> {
    let mut conn = ctx.pool.acquire().await?;
    let row = stored(&mut conn).await?;
    let break_glass: Vec<(String, String)> = sqlx::query_as(
        // Only users are ever marked (`set_break_glass`): the few marked rows come from their
        // partial index, not from every user.
        "SELECT handle, role FROM principals WHERE break_glass = TRUE ORDER BY handle",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut view = super::SsoView {
        from_env: false,
        secret: match (&row.vault_secret, &row.secret_ciphertext) {
            (Some(name), _) => Some(format!("in the Key Vault as {name}")),
            (None, Some(_)) => Some("stored sealed: leave empty to keep it".into()),
            _ => None,
        },
        issuer: row.issuer,
        client_id: row.client_id,
        vault_secret: row.vault_secret,
        name: row.name,
        redirect_uri: ctx.sso.redirect_uri().to_owned(),
        required: row.require_sso,
        break_glass,
    };
    if let Some(env) = ctx.sso.from_env() {
        view.from_env = true;
        view.issuer = Some(env.issuer.clone());
        view.client_id = Some(env.client_id.clone());
        view.secret = Some("set by the environment".into());
        view.vault_secret = None;
        view.name = env.name.clone();
    }
    Ok(view)
}

/// An issuer as typed: an `http(s)` URL, without a trailing slash.
pub fn parse_issuer(typed: &str) -> Result<String, AppError> {
    let typed = typed.trim().trim_end_matches('/');
    let url = openidconnect::url::Url::parse(typed).ok().filter(|u| {
        matches!(u.scheme(), "https" | "http") && u.host().is_some() && u.query().is_none()
    });
    match url {
        Some(_) if typed.len() <= 500 => Ok(typed.to_owned()),
        _ => Err(AppError::invalid(
            "issuer",
            "Enter the provider's issuer URL, such as https://login.example.com/tenant.",
        )),
    }
}

fn refuse_env(ctx: &AppContext) -> Result<(), AppError> {
    if ctx.sso.from_env().is_some() {
        return Err(AppError::NotPermitted(
            "Single sign-on is set by the environment (GATEHOUSE_OIDC_*): change it there.".into(),
        ));
    }
    Ok(())
}

async fn audit(
    conn: &mut Conn,
    admin: &crate::roles::UserInfo,
    (action, target, detail): (&str, Option<&str>, &str),
) -> Result<(), AppError> {
    crate::audit::ssr::record(
        conn,
        crate::audit::ssr::Entry {
            actor: Some(admin),
            action,
            target,
            detail,
            client_addr: crate::auth::ssr::client_addr().as_deref(),
        },
    )
    .await
}

/// The card's Save: the form checked, the provider checked, then stored and audited.
pub async fn save_form(
    ctx: &AppContext,
    admin: &crate::roles::UserInfo,
    (issuer, client_id, client_secret, vault_secret, name): (
        String,
        String,
        String,
        String,
        String,
    ),
) -> Result<(), AppError> {
    refuse_env(ctx)?;
    let issuer = parse_issuer(&issuer)?;
    let client_id = client_id.trim();
    if client_id.is_empty() || client_id.len() > 255 {
        return Err(AppError::invalid(
            "client_id",
            "Enter the client ID the provider gave Gatehouse.",
        ));
    }
    let name = match name.trim() {
        "" => "single sign-on",
        n if n.chars().count() <= 60 => n,
        _ => return Err(AppError::invalid("name", "Use 60 characters or fewer.")),
    };
    let has_stored = stored(&mut *ctx.pool.acquire().await?)
        .await?
        .secret_ciphertext
        .is_some();
    let secret = match (vault_secret.trim(), client_secret.as_str()) {
        ("", "") if has_stored => Secret::Keep,
        ("", "") => {
            return Err(AppError::invalid(
                "client_secret",
                "Enter the client secret, or the name of a Key Vault secret that holds it.",
            ));
        }
        ("", typed) if typed.len() > 1024 => {
            return Err(AppError::invalid(
                "client_secret",
                "This is longer than a client secret.",
            ));
        }
        ("", typed) => Secret::Typed(typed.to_owned()),
        (vault, _) => {
            // Read now: a secret the vault does not hold fails here, not at the next sign-in.
            crate::key_vault::ssr::secret_value(ctx, vault, false).await?;
            Secret::Vault(vault.to_owned())
        }
    };
    let steps = super::ssr::check(&ctx.sso, &issuer).await;
    if let Some(failed) = steps.iter().find(|s| !s.passed) {
        return Err(AppError::invalid(
            "issuer",
            format!("The check failed: {}: {}", failed.label, failed.reason),
        ));
    }
    let mut tx = crate::db::begin_write(&ctx.pool).await?;
    save(ctx, &mut tx, (&issuer, client_id, name), secret).await?;
    audit(&mut tx, admin, ("sso.configure", Some(&issuer), name)).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_form(ctx: &AppContext, admin: &crate::roles::UserInfo) -> Result<(), AppError> {
    refuse_env(ctx)?;
    let mut tx = crate::db::begin_write(&ctx.pool).await?;
    remove(&mut tx).await?;
    audit(&mut tx, admin, ("sso.remove", None, "")).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_required(
    ctx: &AppContext,
    admin: &crate::roles::UserInfo,
    on: bool,
) -> Result<(), AppError> {
    if on && current(ctx).await?.is_none() {
        return Err(AppError::invalid("require", "Set up single sign-on first."));
    }
    let mut tx = crate::db::begin_write(&ctx.pool).await?;
    sqlx::query("UPDATE sso_settings SET require_sso = $1 WHERE id = 1")
        .bind(on)
        .execute(&mut *tx)
        .await?;
    crate::users::ssr::ensure_an_admin_remains(&mut tx).await?;
    let detail = if on { "on" } else { "off" };
    audit(&mut tx, admin, ("sso.require", None, detail)).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_break_glass(
    ctx: &AppContext,
    admin: &crate::roles::UserInfo,
    email: &str,
    on: bool,
) -> Result<(), AppError> {
    let not_a_user = || AppError::invalid("email", "No user on this tab has this email.");
    let address = crate::email::Email::parse(email).map_err(|_| not_a_user())?;
    let mut tx = crate::db::begin_write(&ctx.pool).await?;
    let changed =
        sqlx::query("UPDATE principals SET break_glass = $1 WHERE kind = 'user' AND handle = $2")
            .bind(on)
            .bind(address.as_str())
            .execute(&mut *tx)
            .await?;
    if changed.rows_affected() != 1 {
        return Err(not_a_user());
    }
    crate::users::ssr::ensure_an_admin_remains(&mut tx).await?;
    let action = if on {
        "user.break_glass"
    } else {
        "user.break_glass_removed"
    };
    audit(&mut tx, admin, (action, Some(address.as_str()), "")).await?;
    tx.commit().await?;
    Ok(())
}
