//! The link's storage and rules: a link is saved only after the server's own check of the values
//! passed; the vault's credential is sealed under the master key and never leaves the server;
//! the status is what the last check found, written to the database so that every server
//! process (and the banner on every tab) sees the same.

pub mod azure;
pub mod config;
pub mod error;
pub mod openbao;
mod steps;

use crate::db::Flag;
use crate::db::{Conn, Pool};
use crate::{
    audit::ssr::{self as audit, Entry},
    auth::ssr::client_addr,
    context::AppContext,
    db::begin_write,
    error::AppError,
    key_vault::{
        Backend, CheckReport, KeyVaultOverview, VaultAuth, VaultForm, VaultLink,
        runtime::VaultRuntime,
    },
    roles::UserInfo,
    time_fmt::unix_now,
};
use azure::Azure;
use config::{Credential, VaultConfig, VaultTarget, parse_credential, parse_target};
use openbao::OpenBao;
use reqwest::Url;
use std::time::Instant;

/// Binds the sealed credential to its purpose: it cannot be moved into another column.
const CREDENTIAL_AAD: &[u8] = b"gatehouse key_vault.credential";

/// The values this module seals under the master key (see `SealedColumn`).
pub const SEALED: [crate::api_keys::ssr::sealing::SealedColumn; 1] =
    [crate::api_keys::ssr::sealing::SealedColumn {
        table: "key_vault",
        nonce: "credential_nonce",
        ciphertext: "credential_ciphertext",
        aad: crate::api_keys::ssr::sealing::Aad::Fixed(CREDENTIAL_AAD),
    }];

struct StoredLink {
    link: VaultLink,
    target: VaultTarget,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Vec<u8>,
    Vec<u8>,
    Flag,
    Option<i64>,
    Option<String>,
    Option<i64>,
    i64,
);

fn corrupt(what: &str) -> AppError {
    AppError::internal(format!("the stored Key Vault link has an invalid {what}"))
}

async fn stored(conn: &mut Conn) -> Result<Option<StoredLink>, AppError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT backend, address, mount, path_prefix, namespace, auth, principal_id, tenant_id, \
         authority_host, credential_nonce, credential_ciphertext, healthy, unreachable_since, \
         last_error, last_checked_at, linked_at FROM key_vault WHERE id = 1",
    )
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (backend, address, mount, path_prefix, namespace, auth, principal_id, tenant_id) =
        (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
    let authority_host = if row.8.is_empty() {
        crate::key_vault::DEFAULT_AUTHORITY_HOST.to_owned()
    } else {
        row.8
    };
    let target = VaultTarget {
        backend: Backend::parse(&backend).ok_or_else(|| corrupt("backend"))?,
        address: Url::parse(&address).map_err(|_| corrupt("address"))?,
        mount: mount.clone(),
        path_prefix: path_prefix.clone(),
        namespace: namespace.clone(),
        auth: VaultAuth::parse(&auth).ok_or_else(|| corrupt("sign-in method"))?,
        principal_id: principal_id.clone(),
        tenant_id: tenant_id.clone(),
        authority_host: Url::parse(&authority_host).map_err(|_| corrupt("authority host"))?,
    };
    let link = VaultLink {
        backend: target.backend,
        address: address.trim_end_matches('/').to_owned(),
        mount,
        path_prefix,
        namespace,
        auth: target.auth,
        principal_id,
        tenant_id,
        authority_host: if target.backend == Backend::Azure {
            authority_host.trim_end_matches('/').to_owned()
        } else {
            String::new()
        },
        healthy: row.11.0,
        unreachable_since: row.12,
        last_error: row.13,
        last_checked_at: row.14,
        linked_at: row.15,
    };
    Ok(Some(StoredLink {
        link,
        target,
        nonce: row.9,
        ciphertext: row.10,
    }))
}

fn open(ctx: &AppContext, stored: &StoredLink) -> Result<Credential, AppError> {
    let plain = ctx
        .api_keys
        .sealer
        .open(&stored.nonce, &stored.ciphertext, CREDENTIAL_AAD)
        .map_err(AppError::internal)?;
    String::from_utf8(plain)
        .map(Credential)
        .map_err(|_| corrupt("credential"))
}

/// The linked vault, ready to talk to, or `None` when none is linked.
pub async fn linked(ctx: &AppContext) -> Result<Option<VaultConfig>, AppError> {
    let mut conn = ctx.pool.acquire().await?;
    let Some(stored) = stored(&mut conn).await? else {
        return Ok(None);
    };
    Ok(Some(VaultConfig {
        credential: open(ctx, &stored)?,
        target: stored.target,
        cache_key: Some(stored.nonce),
    }))
}

/// Names of the connections that take their credential from the vault.
async fn used_by(conn: &mut Conn) -> Result<Vec<String>, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM connections WHERE vault_secret IS NOT NULL ORDER BY name",
    )
    .fetch_all(conn)
    .await?)
}

pub async fn overview(ctx: &AppContext) -> Result<KeyVaultOverview, AppError> {
    let mut conn = ctx.pool.acquire().await?;
    Ok(KeyVaultOverview {
        link: stored(&mut conn).await?.map(|s| s.link),
        check_every_secs: ctx.key_vault.settings.check_every.as_secs(),
        used_by: used_by(&mut conn).await?,
    })
}

/// Runs the backend's check of `cfg`.
pub async fn run_check(rt: &VaultRuntime, cfg: &VaultConfig) -> CheckReport {
    let started = Instant::now();
    let steps = match cfg.target.backend {
        Backend::OpenBao => OpenBao::new(rt, cfg).check().await,
        Backend::Azure => Azure::new(rt, cfg).check().await,
    };
    CheckReport {
        steps,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// The pane's values as a vault client needs them. An empty credential keeps the stored one,
/// but only while everything it would be sent to is unchanged: an edit that points the link
/// elsewhere must not carry the old secret there.
async fn config_from_form(ctx: &AppContext, form: &VaultForm) -> Result<VaultConfig, AppError> {
    let target = parse_target(form)?;
    if let Some(credential) = parse_credential(target.auth, &form.credential)? {
        return Ok(VaultConfig {
            target,
            credential,
            cache_key: None,
        });
    }
    let label = target.auth.credential_label().to_lowercase();
    let mut conn = ctx.pool.acquire().await?;
    match stored(&mut conn).await? {
        Some(s) if s.target == target => Ok(VaultConfig {
            credential: open(ctx, &s)?,
            target,
            cache_key: None,
        }),
        Some(_) => Err(AppError::invalid(
            "credential",
            format!(
                "Enter the {label} again: the stored one is only sent to the vault it was saved for."
            ),
        )),
        None => Err(AppError::invalid(
            "credential",
            format!("Enter the {label}."),
        )),
    }
}

pub async fn check_form(ctx: &AppContext, form: VaultForm) -> Result<CheckReport, AppError> {
    let cfg = config_from_form(ctx, &form).await?;
    Ok(run_check(&ctx.key_vault, &cfg).await)
}

/// What an audit row says about a link: where it points, never its credential.
fn describe(target: &VaultTarget) -> String {
    match target.backend {
        Backend::OpenBao => format!(
            "{} {} mount {}{} ({})",
            target.backend.label(),
            target.address.as_str().trim_end_matches('/'),
            target.mount,
            if target.path_prefix.is_empty() {
                String::new()
            } else {
                format!(", prefix {}", target.path_prefix)
            },
            target.auth.label()
        ),
        Backend::Azure => format!(
            "{} {} (tenant {}, client {})",
            target.backend.label(),
            target.address.as_str().trim_end_matches('/'),
            target.tenant_id,
            target.principal_id
        ),
    }
}

/// Links the vault or changes the link, after the server's own check of the values passed.
pub async fn save(
    ctx: &AppContext,
    admin: &UserInfo,
    form: VaultForm,
) -> Result<KeyVaultOverview, AppError> {
    let cfg = config_from_form(ctx, &form).await?;
    let report = run_check(&ctx.key_vault, &cfg).await;
    if let Some(reason) = report.failure() {
        return Err(AppError::invalid(
            "check",
            format!("Not saved: the check did not pass. {reason}"),
        ));
    }
    let t = &cfg.target;
    let sealed = ctx
        .api_keys
        .sealer
        .seal(cfg.credential.0.as_bytes(), CREDENTIAL_AAD);
    let now = unix_now();
    let mut tx = begin_write(&ctx.pool).await?;
    let existed = stored(&mut tx).await?.is_some();
    sqlx::query(
        "INSERT INTO key_vault (id, backend, address, mount, path_prefix, namespace, auth, \
         principal_id, tenant_id, authority_host, credential_nonce, credential_ciphertext, \
         healthy, unreachable_since, last_error, last_checked_at, linked_at, updated_at) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, TRUE, NULL, NULL, $12, $13, $14) \
         ON CONFLICT (id) DO UPDATE SET backend = excluded.backend, address = excluded.address, \
         mount = excluded.mount, path_prefix = excluded.path_prefix, \
         namespace = excluded.namespace, auth = excluded.auth, \
         principal_id = excluded.principal_id, tenant_id = excluded.tenant_id, \
         authority_host = excluded.authority_host, \
         credential_nonce = excluded.credential_nonce, \
         credential_ciphertext = excluded.credential_ciphertext, healthy = TRUE, \
         unreachable_since = NULL, last_error = NULL, \
         last_checked_at = excluded.last_checked_at, updated_at = excluded.updated_at",
    )
    .bind(t.backend.as_str())
    .bind(t.address.as_str())
    .bind(&t.mount)
    .bind(&t.path_prefix)
    .bind(&t.namespace)
    .bind(t.auth.as_str())
    .bind(&t.principal_id)
    .bind(&t.tenant_id)
    .bind(if t.backend == Backend::Azure {
        t.authority_host.as_str()
    } else {
        ""
    })
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .bind(now)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Entry {
            actor: Some(admin),
            action: if existed { "vault.edit" } else { "vault.link" },
            target: Some("key vault"),
            detail: &describe(t),
            client_addr: client_addr().as_deref(),
        },
    )
    .await?;
    tx.commit().await?;
    ctx.key_vault.forget_tokens();
    overview(ctx).await
}

/// Checks the linked vault and records what it found; `None` when no vault is linked.
pub async fn recheck(ctx: &AppContext) -> Result<Option<CheckReport>, AppError> {
    let Some(cfg) = linked(ctx).await? else {
        return Ok(None);
    };
    let report = run_check(&ctx.key_vault, &cfg).await;
    let key = cfg.cache_key.clone().unwrap_or_default();
    record_status(&ctx.pool, &key, &report).await?;
    Ok(Some(report))
}

/// Writes the status, and an audit row when it changed (`vault.unreachable`,
/// `vault.recovered`). Only for the link that was checked: an edit in between wins.
async fn record_status(pool: &Pool, nonce: &[u8], report: &CheckReport) -> Result<(), AppError> {
    let now = unix_now();
    let mut tx = begin_write(pool).await?;
    let was_healthy: Option<Flag> =
        sqlx::query_scalar("SELECT healthy FROM key_vault WHERE id = 1 AND credential_nonce = $1")
            .bind(nonce)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(Flag(was_healthy)) = was_healthy else {
        return Ok(());
    };
    let failure = report.failure();
    sqlx::query(
        "UPDATE key_vault SET healthy = $1, last_checked_at = $2, last_error = $3, \
         unreachable_since = CASE WHEN $4 THEN NULL ELSE COALESCE(unreachable_since, $5) END \
         WHERE id = 1",
    )
    .bind(failure.is_none())
    .bind(now)
    .bind(failure)
    .bind(failure.is_none())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let change = match (was_healthy, failure) {
        (true, Some(reason)) => Some(("vault.unreachable", reason)),
        (false, None) => Some(("vault.recovered", "")),
        _ => None,
    };
    if let Some((action, detail)) = change {
        tracing::warn!(action, detail, "Key Vault status changed");
        audit::record(
            &mut tx,
            Entry {
                actor: None,
                action,
                target: Some("key vault"),
                detail,
                client_addr: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The linked vault, or the error that says none is.
async fn require_linked(ctx: &AppContext) -> Result<VaultConfig, AppError> {
    linked(ctx)
        .await?
        .ok_or_else(|| AppError::Conflict("No Key Vault is linked. Set one up first.".into()))
}

/// What the admin reads when the vault fails a request.
fn upstream(e: error::VaultError) -> AppError {
    AppError::Upstream(steps::sentence(&format!("Key Vault: {e}")))
}

/// The vault's secret names, sorted.
pub async fn secret_names(ctx: &AppContext) -> Result<Vec<String>, AppError> {
    let cfg = require_linked(ctx).await?;
    match cfg.target.backend {
        Backend::OpenBao => OpenBao::new(&ctx.key_vault, &cfg).list().await,
        Backend::Azure => Azure::new(&ctx.key_vault, &cfg).list().await,
    }
    .map_err(upstream)
}

/// A secret's current value, read from the vault or, with `reuse`, reused for up to the
/// cache's lifetime. `reference` is the secret's name; for OpenBao, `name#key` picks a key
/// within it (without one: `value`, or the secret's only key).
pub async fn secret_value(
    ctx: &AppContext,
    reference: &str,
    reuse: bool,
) -> Result<String, AppError> {
    let cfg = require_linked(ctx).await?;
    let link = cfg.cache_key.clone().unwrap_or_default();
    if reuse && let Some(value) = ctx.key_vault.cached_secret(&link, reference) {
        return Ok(value);
    }
    let value = match cfg.target.backend {
        Backend::Azure => Azure::new(&ctx.key_vault, &cfg)
            .read(reference)
            .await
            .map_err(upstream)?,
        Backend::OpenBao => {
            let (name, key) = match reference.split_once('#') {
                Some((name, key)) => (name, Some(key)),
                None => (reference, None),
            };
            let data = OpenBao::new(&ctx.key_vault, &cfg)
                .read(name)
                .await
                .map_err(upstream)?;
            pick_key(name, key, data)?
        }
    };
    ctx.key_vault.keep_secret(&link, reference, &value);
    Ok(value)
}

/// The value of `key` in a KV secret, or of its `value` key, or of its only key.
fn pick_key(
    name: &str,
    key: Option<&str>,
    mut data: std::collections::BTreeMap<String, String>,
) -> Result<String, AppError> {
    let chosen = match key {
        Some(key) => key.to_owned(),
        None if data.contains_key("value") => "value".to_owned(),
        None if data.len() == 1 => data.keys().next().cloned().unwrap_or_default(),
        None => {
            return Err(AppError::Upstream(format!(
                "Key Vault: the secret {name:?} holds several keys; name one as {name}#KEY."
            )));
        }
    };
    data.remove(&chosen).ok_or_else(|| {
        AppError::Upstream(format!(
            "Key Vault: the secret {name:?} has no key {chosen:?}."
        ))
    })
}

/// Removes the link, unless connections still take their credential from it.
pub async fn unlink(ctx: &AppContext, admin: &UserInfo) -> Result<(), AppError> {
    let mut tx = begin_write(&ctx.pool).await?;
    let Some(link) = stored(&mut tx).await? else {
        return Err(AppError::NotFound);
    };
    let users = used_by(&mut tx).await?;
    if !users.is_empty() {
        return Err(AppError::Conflict(format!(
            "The vault stays linked: {} still take{} credentials from it ({}). Switch {} to a stored credential or remove {} first.",
            if users.len() == 1 {
                "a connection"
            } else {
                "connections"
            },
            if users.len() == 1 { "s" } else { "" },
            users.join(", "),
            if users.len() == 1 { "it" } else { "them" },
            if users.len() == 1 { "it" } else { "them" },
        )));
    }
    sqlx::query("DELETE FROM key_vault WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Entry {
            actor: Some(admin),
            action: "vault.unlink",
            target: Some("key vault"),
            detail: &describe(&link.target),
            client_addr: client_addr().as_deref(),
        },
    )
    .await?;
    tx.commit().await?;
    ctx.key_vault.forget_tokens();
    Ok(())
}

/// While the linked vault fails its checks: since when, and how many connections it leaves
/// without credentials. For the banner on every tab.
pub async fn alert(pool: &Pool) -> Result<Option<(i64, i64)>, AppError> {
    let since: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT unreachable_since FROM key_vault WHERE id = 1 AND healthy = FALSE",
    )
    .fetch_optional(pool)
    .await?;
    let Some(since) = since.flatten() else {
        return Ok(None);
    };
    let affected: i64 =
        sqlx::query_scalar("SELECT count(*) FROM connections WHERE vault_secret IS NOT NULL")
            .fetch_one(pool)
            .await?;
    Ok(Some((since, affected)))
}

/// The background check, every `check_every`, for as long as the server runs.
pub async fn watch(ctx: AppContext) {
    let mut tick = tokio::time::interval(ctx.key_vault.settings.check_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        // One server of those on the database checks it.
        if !ctx.singleton.holds().await {
            continue;
        }
        if let Err(e) = recheck(&ctx).await {
            tracing::warn!(error = %e, "could not check the Key Vault");
        }
    }
}
