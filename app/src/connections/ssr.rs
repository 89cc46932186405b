//! Connection storage, the credential's resolution (sealed here, or read from the Key Vault at
//! the moment of use), Verify, and the rules of the credential API.

use super::{
    Audience, Connection, ConnectionForm, ConnectionKind, Credentials, DEFAULT_SIGNATURE_HEADER,
    MAX_HEADER_CHARS, MAX_NAME_CHARS, MAX_REFERENCE_CHARS, MAX_SECRET_CHARS, MAX_URL_CHARS,
    VerifyResult,
};
use crate::{
    audit::ssr::{self as audit, Entry},
    auth::ssr::{AppContext, client_addr},
    db::begin_write,
    error::AppError,
    key_vault::ssr::{self as vault, error::VaultError},
    roles::UserInfo,
    time_fmt::{rfc3339, unix_now},
    users::ssr::applications::Application,
};
use hmac::{Hmac, Mac};
use reqwest::Url;
use sha2::Sha256;
use sqlx::{SqliteConnection, SqlitePool};
use std::{fmt::Write as _, net::IpAddr, time::Instant};

/// Binds a sealed secret to its purpose.
const SECRET_AAD: &[u8] = b"gatehouse connection.secret";

#[derive(serde::Serialize, serde::Deserialize)]
struct WebhookSettings {
    url: String,
    header_name: String,
}

type Row = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<bool>,
    Option<String>,
);

const COLUMNS: &str = "SELECT id, name, kind, settings, vault_secret, audience, \
     last_verified_at, last_verify_ok, last_verify_message FROM connections";

fn corrupt(what: &str) -> AppError {
    AppError::internal(format!("a stored connection has an invalid {what}"))
}

fn connection(row: Row) -> Result<Connection, AppError> {
    let (id, name, kind, settings, vault_secret, audience, verified_at, ok, message) = row;
    let settings: WebhookSettings =
        serde_json::from_str(&settings).map_err(|_| corrupt("settings"))?;
    Ok(Connection {
        id,
        name,
        kind: ConnectionKind::parse(&kind).ok_or_else(|| corrupt("type"))?,
        audience: Audience::parse(&audience).ok_or_else(|| corrupt("audience"))?,
        url: settings.url,
        header_name: settings.header_name,
        credentials: vault_secret.map_or(Credentials::Stored, Credentials::KeyVault),
        last_verified_at: verified_at,
        last_verify_ok: ok,
        last_verify_message: message,
    })
}

pub async fn list(pool: &SqlitePool) -> Result<Vec<Connection>, AppError> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{COLUMNS} ORDER BY name"))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(connection).collect()
}

async fn find(conn: &mut SqliteConnection, id: i64) -> Result<Connection, AppError> {
    let row: Option<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    connection(row.ok_or(AppError::NotFound)?)
}

async fn find_by_name(pool: &SqlitePool, name: &str) -> Result<Option<Connection>, AppError> {
    let row: Option<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE name = ?"))
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.map(connection).transpose()
}

/// A name that reads well in an API path: lower-case letters, digits, `-`, `_` and `.`.
fn parse_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(AppError::invalid(
            "name",
            format!(
                "Use 1 to {MAX_NAME_CHARS} lower-case letters, digits, '-', '_' or '.', starting with a letter or digit (it appears in the API's path)."
            ),
        ))
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// An https:// endpoint (http:// to this machine only), without credentials in it.
fn parse_url(raw: &str) -> Result<String, AppError> {
    let raw = raw.trim();
    let bad = |m: &str| Err(AppError::invalid("url", m));
    if raw.is_empty() {
        return bad("Enter the endpoint's URL, such as https://hooks.example.com/gatehouse.");
    }
    if raw.chars().count() > MAX_URL_CHARS {
        return bad("This URL is too long.");
    }
    let Ok(url) = Url::parse(raw) else {
        return bad("Enter a full URL, such as https://hooks.example.com/gatehouse.");
    };
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return bad("Enter a full URL, such as https://hooks.example.com/gatehouse.");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("Leave credentials out of the URL: the secret has its own field.");
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return bad(
            "Use an https:// URL. Plain http:// is accepted for this machine's own addresses only.",
        );
    }
    Ok(url.to_string())
}

/// An HTTP header name (RFC 9110 token characters, kept to letters, digits and `-`).
fn parse_header(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(DEFAULT_SIGNATURE_HEADER.to_owned());
    }
    let valid = name.len() <= MAX_HEADER_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "host" | "content-length" | "content-type" | "transfer-encoding" | "connection"
        );
    if valid {
        Ok(name.to_owned())
    } else {
        Err(AppError::invalid(
            "header_name",
            "Use a header name of letters, digits and '-', such as X-Gatehouse-Signature.",
        ))
    }
}

fn parse_reference(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let valid = !name.is_empty()
        && name.len() <= MAX_REFERENCE_CHARS
        && !name.split(['/', '#']).any(|part| part == "..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '#'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(AppError::invalid(
            "vault_secret",
            "Pick a secret from the vault's list, or type its name.",
        ))
    }
}

fn parse_secret(raw: &str) -> Result<Option<String>, AppError> {
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.chars().count() > MAX_SECRET_CHARS {
        return Err(AppError::invalid("secret", "This secret is too long."));
    }
    if raw.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "secret",
            "The secret contains a control character; paste it again.",
        ));
    }
    Ok(Some(raw.to_owned()))
}

/// What an audit row says about a connection: never the secret.
fn describe(kind: ConnectionKind, url: &str, vault_secret: Option<&str>) -> String {
    let host = Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let source = vault_secret.map_or("stored credential".to_owned(), |s| {
        format!("Key Vault secret {s}")
    });
    format!("{} to {host}; {source}", kind.label())
}

pub async fn save(
    ctx: &AppContext,
    admin: &UserInfo,
    form: ConnectionForm,
) -> Result<Connection, AppError> {
    let name = parse_name(&form.name)?;
    let url = parse_url(&form.url)?;
    let header_name = parse_header(&form.header_name)?;
    let settings = serde_json::to_string(&WebhookSettings {
        url: url.clone(),
        header_name,
    })
    .map_err(AppError::internal)?;
    let vault_secret = if form.use_vault {
        if vault::linked(ctx).await?.is_none() {
            return Err(AppError::invalid(
                "use_vault",
                "No Key Vault is linked: link one above, or store the secret here.",
            ));
        }
        Some(parse_reference(&form.vault_secret)?)
    } else {
        None
    };
    let typed = if vault_secret.is_some() {
        None
    } else {
        parse_secret(&form.secret)?
    };
    let sealed = typed
        .as_ref()
        .map(|s| ctx.api_keys.sealer.seal(s.as_bytes(), SECRET_AAD));
    let now = unix_now();
    let mut tx = begin_write(&ctx.pool).await?;
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM connections WHERE name = ?")
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some_and(|id| Some(id) != form.id) {
        return Err(AppError::invalid(
            "name",
            format!("A connection named {name} exists already."),
        ));
    }
    let id = match form.id {
        None => {
            if vault_secret.is_none() && sealed.is_none() {
                return Err(AppError::invalid("secret", "Enter the secret."));
            }
            sqlx::query_scalar(
                "INSERT INTO connections (name, kind, settings, vault_secret, secret_nonce, \
                 secret_ciphertext, audience, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&name)
            .bind(form.kind.as_str())
            .bind(&settings)
            .bind(vault_secret.as_deref())
            .bind(sealed.as_ref().map(|s| s.nonce.clone()))
            .bind(sealed.as_ref().map(|s| s.ciphertext.clone()))
            .bind(form.audience.as_str())
            .bind(now)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
        }
        Some(id) => {
            let before = find(&mut tx, id).await?;
            let has_stored = before.credentials == Credentials::Stored;
            if vault_secret.is_none() && sealed.is_none() && !has_stored {
                return Err(AppError::invalid(
                    "secret",
                    "Enter the secret: this connection took it from the Key Vault until now.",
                ));
            }
            sqlx::query(
                "UPDATE connections SET name = ?, settings = ?, audience = ?, vault_secret = ?, \
                 secret_nonce = CASE WHEN ? THEN NULL WHEN ? IS NULL THEN secret_nonce ELSE ? END, \
                 secret_ciphertext = CASE WHEN ? THEN NULL WHEN ? IS NULL THEN secret_ciphertext ELSE ? END, \
                 last_verified_at = NULL, last_verify_ok = NULL, last_verify_message = NULL, \
                 updated_at = ? WHERE id = ?",
            )
            .bind(&name)
            .bind(&settings)
            .bind(form.audience.as_str())
            .bind(vault_secret.as_deref())
            .bind(vault_secret.is_some())
            .bind(sealed.as_ref().map(|s| s.nonce.clone()))
            .bind(sealed.as_ref().map(|s| s.nonce.clone()))
            .bind(vault_secret.is_some())
            .bind(sealed.as_ref().map(|s| s.ciphertext.clone()))
            .bind(sealed.as_ref().map(|s| s.ciphertext.clone()))
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    let action = if form.id.is_some() {
        "connection.edit"
    } else {
        "connection.add"
    };
    audit::record(
        &mut tx,
        Entry {
            actor: Some(admin),
            action,
            target: Some(&name),
            detail: &describe(form.kind, &url, vault_secret.as_deref()),
            client_addr: client_addr().as_deref(),
        },
    )
    .await?;
    let saved = find(&mut tx, id).await?;
    tx.commit().await?;
    Ok(saved)
}

pub async fn remove(ctx: &AppContext, admin: &UserInfo, id: i64) -> Result<(), AppError> {
    let mut tx = begin_write(&ctx.pool).await?;
    let gone = find(&mut tx, id).await?;
    sqlx::query("DELETE FROM connections WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let vault_secret = match &gone.credentials {
        Credentials::KeyVault(name) => Some(name.as_str()),
        Credentials::Stored => None,
    };
    audit::record(
        &mut tx,
        Entry {
            actor: Some(admin),
            action: "connection.remove",
            target: Some(&gone.name),
            detail: &describe(gone.kind, &gone.url, vault_secret),
            client_addr: client_addr().as_deref(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The connection's secret, from where it is kept: unsealed here, or read from the vault now
/// (with `reuse`: or within the cache's lifetime).
async fn secret_of(
    ctx: &AppContext,
    connection: &Connection,
    reuse: bool,
) -> Result<String, AppError> {
    match &connection.credentials {
        Credentials::KeyVault(reference) => vault::secret_value(ctx, reference, reuse).await,
        Credentials::Stored => {
            let (nonce, ciphertext): (Option<Vec<u8>>, Option<Vec<u8>>) = sqlx::query_as(
                "SELECT secret_nonce, secret_ciphertext FROM connections WHERE id = ?",
            )
            .bind(connection.id)
            .fetch_one(&ctx.pool)
            .await?;
            let (Some(nonce), Some(ciphertext)) = (nonce, ciphertext) else {
                return Err(corrupt("stored secret"));
            };
            let plain = ctx
                .api_keys
                .sealer
                .open(&nonce, &ciphertext, SECRET_AAD)
                .map_err(AppError::internal)?;
            String::from_utf8(plain).map_err(|_| corrupt("stored secret"))
        }
    }
}

/// HMAC-SHA256 of `body` under `secret`, as `sha256=<hex>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    let mut out = String::from("sha256=");
    for byte in mac.finalize().into_bytes() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Sends the webhook a signed test event; a 2xx answer passes.
async fn verify_webhook(
    ctx: &AppContext,
    connection: &Connection,
    secret: &str,
) -> Result<String, String> {
    let body = serde_json::json!({
        "type": "gatehouse.test",
        "connection": connection.name,
        "sentAt": rfc3339(unix_now()),
    })
    .to_string();
    let host = Url::parse(&connection.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let res = ctx
        .key_vault
        .http
        .post(&connection.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(&connection.header_name, signature(secret, body.as_bytes()))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("The endpoint: {}.", VaultError::from_transport(e, &host)))?;
    let status = res.status();
    if status.is_success() {
        Ok(format!(
            "The endpoint accepted the signed test event (HTTP {}).",
            status.as_u16()
        ))
    } else {
        Err(format!(
            "The endpoint refused the signed test event (HTTP {}).",
            status.as_u16()
        ))
    }
}

/// Resolves the secret now and tests the connection; records and audits the outcome.
pub async fn verify(ctx: &AppContext, admin: &UserInfo, id: i64) -> Result<VerifyResult, AppError> {
    let connection = {
        let mut conn = ctx.pool.acquire().await?;
        find(&mut conn, id).await?
    };
    let started = Instant::now();
    // Verify asks the vault now: a cached value would hide a vault that stopped answering.
    let outcome = match secret_of(ctx, &connection, false).await {
        Ok(secret) => verify_webhook(ctx, &connection, &secret).await,
        Err(AppError::Upstream(reason)) | Err(AppError::Conflict(reason)) => Err(reason),
        Err(other) => return Err(other),
    };
    let (ok, message) = match outcome {
        Ok(m) => (true, m),
        Err(m) => (false, m),
    };
    let now = unix_now();
    let mut tx = begin_write(&ctx.pool).await?;
    sqlx::query(
        "UPDATE connections SET last_verified_at = ?, last_verify_ok = ?, last_verify_message = ? \
         WHERE id = ?",
    )
    .bind(now)
    .bind(ok)
    .bind(&message)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Entry {
            actor: Some(admin),
            action: "connection.verify",
            target: Some(&connection.name),
            detail: &format!("{}: {message}", if ok { "passed" } else { "failed" }),
            client_addr: client_addr().as_deref(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(VerifyResult {
        ok,
        message,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// What the credential API answers.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialAnswer {
    pub connection: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    pub header_name: String,
    /// `key_vault` or `stored`.
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    pub credential: String,
}

/// A connection's credential for an application, if the connection's Who can use admits the
/// application's role; every use is audited (who, which connection, which secret name).
pub async fn credential_for(
    ctx: &AppContext,
    app: &Application,
    actor: &UserInfo,
    name: &str,
    client: Option<&str>,
) -> Result<CredentialAnswer, AppError> {
    let Some(connection) = find_by_name(&ctx.pool, name).await? else {
        return Err(AppError::NotFound);
    };
    if app.role < connection.audience.min_role() {
        return Err(AppError::NotPermitted(format!(
            "The connection {name} may be used by applications with the {} role{}; this one has {}.",
            connection.audience.min_role().label(),
            if connection.audience == Audience::Contributors {
                " or higher"
            } else {
                ""
            },
            app.role.label()
        )));
    }
    let secret_name = match &connection.credentials {
        Credentials::KeyVault(reference) => Some(reference.clone()),
        Credentials::Stored => None,
    };
    let credential = secret_of(ctx, &connection, true).await?;
    let mut conn = ctx.pool.acquire().await?;
    audit::record(
        &mut conn,
        Entry {
            actor: Some(actor),
            action: "connection.use",
            target: Some(&connection.name),
            detail: &secret_name
                .as_ref()
                .map_or("stored credential".to_owned(), |s| {
                    format!("Key Vault secret {s}")
                }),
            client_addr: client,
        },
    )
    .await?;
    Ok(CredentialAnswer {
        connection: connection.name,
        kind: connection.kind.as_str(),
        url: connection.url,
        header_name: connection.header_name,
        source: if secret_name.is_some() {
            "key_vault"
        } else {
            "stored"
        },
        secret_name,
        credential,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_path_safe_slugs() {
        assert_eq!(parse_name(" orders-hook ").unwrap(), "orders-hook");
        for bad in ["", "Orders", "-x", "a/b", "a b", &"a".repeat(65)] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_and_headers() {
        assert!(parse_url("https://hooks.example.com/x?code=1").is_ok());
        assert!(parse_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(parse_url("http://hooks.example.com/x").is_err());
        assert!(parse_url("https://u:p@hooks.example.com").is_err());
        assert_eq!(parse_header("").unwrap(), DEFAULT_SIGNATURE_HEADER);
        assert!(parse_header("X-Hub-Signature-256").is_ok());
        assert!(parse_header("Host").is_err());
        assert!(parse_header("X Sig").is_err());
    }

    #[test]
    fn references_stay_inside_the_vault_path() {
        assert!(parse_reference("crm/webhook#token").is_ok());
        assert!(parse_reference("../sys/x").is_err());
        assert!(parse_reference("a b").is_err());
    }

    #[test]
    fn signatures_follow_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
