//! Connection storage, the credential's resolution (sealed here, or read from the Key Vault at
//! the moment of use), Verify, and the rules of the credential API.

use super::{
    Audience, Connection, ConnectionForm, ConnectionKind, Credentials, DEFAULT_SIGNATURE_HEADER,
    MAX_HEADER_CHARS, MAX_NAME_CHARS, MAX_REFERENCE_CHARS, MAX_SECRET_CHARS, MAX_URL_CHARS,
    SmtpTls, Target, VerifyResult,
};
use crate::db::Flag;
use crate::db::{Conn, Pool};
use crate::{
    api_keys::ssr::sealing::{Aad, SealedColumn},
    audit::ssr::{self as audit, Entry},
    auth::ssr::client_addr,
    context::AppContext,
    db::begin_write,
    error::AppError,
    key_vault::ssr::{
        self as vault,
        config::{is_loopback, is_loopback_host},
        error::outbound_send,
    },
    roles::UserInfo,
    time_fmt::{rfc3339, unix_now},
    users::ssr::applications::Application,
};
use hmac::{Hmac, Mac};
use reqwest::Url;
use sha2::Sha256;
use std::{fmt::Write as _, net::IpAddr, time::Instant};

/// Binds a sealed secret to its purpose.
const SECRET_AAD: &[u8] = b"gatehouse connection.secret";

/// The values this module seals under the master key (see `SealedColumn`).
pub const SEALED: [SealedColumn; 1] = [SealedColumn {
    table: "connections",
    nonce: "secret_nonce",
    ciphertext: "secret_ciphertext",
    aad: Aad::Fixed(SECRET_AAD),
}];

type Row = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<Flag>,
    Option<String>,
);

const COLUMNS: &str = "SELECT id, name, kind, settings, vault_secret, audience, \
     last_verified_at, last_verify_ok, last_verify_message FROM connections";

fn corrupt(what: &str) -> AppError {
    AppError::internal(format!("a stored connection has an invalid {what}"))
}

fn connection(row: Row) -> Result<Connection, AppError> {
    let (id, name, kind, settings, vault_secret, audience, verified_at, ok, message) = row;
    let target: Target = serde_json::from_str(&settings).map_err(|_| corrupt("settings"))?;
    if ConnectionKind::parse(&kind) != Some(target.kind()) {
        return Err(corrupt("type"));
    }
    Ok(Connection {
        id,
        name,
        audience: Audience::parse(&audience).ok_or_else(|| corrupt("audience"))?,
        target,
        credentials: vault_secret.map_or(Credentials::Stored, Credentials::KeyVault),
        last_verified_at: verified_at,
        last_verify_ok: ok.map(bool::from),
        last_verify_message: message,
    })
}

pub async fn list(pool: &Pool) -> Result<Vec<Connection>, AppError> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{COLUMNS} ORDER BY name"))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(connection).collect()
}

async fn find(conn: &mut Conn, id: i64) -> Result<Connection, AppError> {
    let row: Option<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    connection(row.ok_or(AppError::NotFound)?)
}

async fn find_by_name(pool: &Pool, name: &str) -> Result<Option<Connection>, AppError> {
    let row: Option<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE name = $1"))
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
    // Headers that decide where a request goes, who it authenticates as, or what a proxy
    // believes about it are not the signature's to set.
    let lower = name.to_ascii_lowercase();
    let valid = name.len() <= MAX_HEADER_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !matches!(
            lower.as_str(),
            "host"
                | "content-length"
                | "content-type"
                | "transfer-encoding"
                | "connection"
                | "authorization"
                | "proxy-authorization"
                | "cookie"
                | "forwarded"
        )
        && !lower.starts_with("x-forwarded-");
    if valid {
        Ok(name.to_owned())
    } else {
        Err(AppError::invalid(
            "header_name",
            "Use a header name of letters, digits and '-', such as X-Gatehouse-Signature (not Host, Authorization, Cookie, Forwarded or X-Forwarded-*).",
        ))
    }
}

/// A mail server's host name or IP address; no encryption only for this machine.
fn parse_host(raw: &str, tls: SmtpTls) -> Result<String, AppError> {
    let host = raw.trim().trim_start_matches('[').trim_end_matches(']');
    let is_ip = host.parse::<IpAddr>().is_ok();
    let is_name = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !(is_ip || is_name) {
        return Err(AppError::invalid(
            "host",
            "Enter the mail server's host name, such as smtp.example.com.",
        ));
    }
    let local = is_loopback_host(host);
    if tls == SmtpTls::None && !local {
        return Err(AppError::invalid(
            "tls",
            "Use STARTTLS or TLS: the password must not travel unencrypted. No encryption is accepted for this machine's own mail server only.",
        ));
    }
    Ok(host.to_ascii_lowercase())
}

fn parse_port(raw: &str, tls: SmtpTls) -> Result<u16, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(tls.default_port());
    }
    match raw.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(AppError::invalid("port", "Enter a port from 1 to 65535.")),
    }
}

fn parse_username(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "username",
            "Enter the username the mail server expects (up to 256 characters).",
        ));
    }
    Ok(name.to_owned())
}

/// The form's target, checked by field.
fn parse_target(form: &ConnectionForm) -> Result<Target, AppError> {
    Ok(match form.kind {
        ConnectionKind::Webhook => Target::Webhook {
            url: parse_url(&form.url)?,
            header_name: parse_header(&form.header_name)?,
        },
        ConnectionKind::Smtp => Target::Smtp {
            host: parse_host(&form.host, form.tls)?,
            port: parse_port(&form.port, form.tls)?,
            tls: form.tls,
            username: parse_username(&form.username)?,
        },
    })
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

/// The host a connection talks to, for messages and audit rows.
fn host_of(target: &Target) -> String {
    match target {
        Target::Webhook { url, .. } => Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default(),
        Target::Smtp { host, .. } => host.clone(),
    }
}

/// Whether an edit sends the credential somewhere else: another URL, or another mail server,
/// port, TLS mode or username. The signature header's name is not a destination.
fn destination_moves(before: &Target, after: &Target) -> bool {
    match (before, after) {
        (Target::Webhook { url: a, .. }, Target::Webhook { url: b, .. }) => a != b,
        (a @ Target::Smtp { .. }, b @ Target::Smtp { .. }) => a != b,
        _ => true,
    }
}

/// What an audit row says about a connection: never the secret.
fn describe(target: &Target, vault_secret: Option<&str>) -> String {
    let source = vault_secret.map_or("stored credential".to_owned(), |s| {
        format!("Key Vault secret {s}")
    });
    format!("{} to {}; {source}", target.kind().label(), host_of(target))
}

pub async fn save(
    ctx: &AppContext,
    admin: &UserInfo,
    form: ConnectionForm,
) -> Result<Connection, AppError> {
    let name = parse_name(&form.name)?;
    let target = parse_target(&form)?;
    let settings = serde_json::to_string(&target).map_err(AppError::internal)?;
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
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM connections WHERE name = $1")
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
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&name)
            .bind(target.kind().as_str())
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
            if before.target.kind() != target.kind() {
                return Err(AppError::invalid(
                    "kind",
                    "A connection keeps its type: add a new one for another type.",
                ));
            }
            let has_stored = before.credentials == Credentials::Stored;
            if vault_secret.is_none() && sealed.is_none() && !has_stored {
                return Err(AppError::invalid(
                    "secret",
                    "Enter the secret: this connection took it from the Key Vault until now.",
                ));
            }
            // The stored credential was given for one destination: sending it to another
            // takes whoever knows it, as relinking the Key Vault does.
            if vault_secret.is_none()
                && sealed.is_none()
                && destination_moves(&before.target, &target)
            {
                return Err(AppError::invalid(
                    "secret",
                    "Enter the secret again: the stored one would go to another destination (URL, host, port, TLS or username changed).",
                ));
            }
            sqlx::query(
                "UPDATE connections SET name = $1, settings = $2, audience = $3, vault_secret = $4, \
                 secret_nonce = CASE WHEN $5 THEN NULL WHEN $6 IS NULL THEN secret_nonce ELSE $7 END, \
                 secret_ciphertext = CASE WHEN $8 THEN NULL WHEN $9 IS NULL THEN secret_ciphertext ELSE $10 END, \
                 last_verified_at = NULL, last_verify_ok = NULL, last_verify_message = NULL, \
                 updated_at = $11 WHERE id = $12",
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
            detail: &describe(&target, vault_secret.as_deref()),
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
    let streaming: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_destinations WHERE connection_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if streaming > 0 {
        return Err(AppError::Conflict(format!(
            "{} receives the audit log: choose another destination under Audit streaming on the Users tab first.",
            gone.name
        )));
    }
    sqlx::query("DELETE FROM connections WHERE id = $1")
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
            detail: &describe(&gone.target, vault_secret),
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
                "SELECT secret_nonce, secret_ciphertext FROM connections WHERE id = $1",
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

/// A Webhook connection, for the audit stream's picker.
pub async fn webhooks(pool: &Pool) -> Result<Vec<(i64, String, String)>, AppError> {
    Ok(list(pool)
        .await?
        .into_iter()
        .filter_map(|c| match c.target {
            Target::Webhook { url, .. } => Some((c.id, c.name, url)),
            Target::Smtp { .. } => None,
        })
        .collect())
}

/// The Webhook connection `id`'s name, or why it cannot receive the audit stream.
pub async fn webhook_name(conn: &mut Conn, id: i64) -> Result<String, AppError> {
    let connection = find(conn, id).await?;
    match connection.target {
        Target::Webhook { .. } => Ok(connection.name),
        Target::Smtp { .. } => Err(AppError::BadRequest(format!(
            "{} is a mail server connection; the audit log streams to a Webhook connection.",
            connection.name
        ))),
    }
}

/// Posts `body` to the Webhook connection `id`, signed as Verify's test event is (the
/// connection's signature header, HMAC-SHA256 under its secret); a 2xx answer accepts it. The
/// error is a sentence for the card, never the secret.
pub async fn post_signed(
    ctx: &AppContext,
    id: i64,
    content_type: &'static str,
    body: Vec<u8>,
) -> Result<(), String> {
    let connection = find(
        &mut *ctx.pool.acquire().await.map_err(|e| e.to_string())?,
        id,
    )
    .await
    .map_err(|_| "its connection was removed".to_owned())?;
    let Target::Webhook { url, header_name } = &connection.target else {
        return Err(format!("{} is not a Webhook connection", connection.name));
    };
    let secret = secret_of(ctx, &connection, true)
        .await
        .map_err(|e| format!("its secret could not be read: {e}"))?;
    let res = send_signed(ctx, url, header_name, &secret, content_type, body)
        .await
        .map_err(|e| format!("{}: {e}", connection.name))?;
    let status = res.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{} answered HTTP {}",
            connection.name,
            status.as_u16()
        ))
    }
}

/// POSTs `body` to a webhook with its signature header (`sha256=` HMAC of the body under the
/// secret), through the outbound checks (no link-local or metadata addresses).
async fn send_signed(
    ctx: &AppContext,
    url: &str,
    header_name: &str,
    secret: &str,
    content_type: &'static str,
    body: Vec<u8>,
) -> Result<reqwest::Response, String> {
    let host = Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let req = ctx
        .key_vault
        .http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header(header_name, signature(secret, &body))
        .body(body);
    let allow_loopback = ctx.key_vault.settings.allow_loopback;
    outbound_send(&ctx.key_vault.http, req, allow_loopback, &host)
        .await
        .map_err(|e| e.to_string())
}

/// Sends the webhook a signed test event; a 2xx answer passes.
async fn verify_webhook(
    ctx: &AppContext,
    name: &str,
    url: &str,
    header_name: &str,
    secret: &str,
) -> Result<String, String> {
    let body = serde_json::json!({
        "type": "gatehouse.test",
        "connection": name,
        "sentAt": rfc3339(unix_now()),
    })
    .to_string();
    let res = send_signed(
        ctx,
        url,
        header_name,
        secret,
        "application/json",
        body.into_bytes(),
    )
    .await
    .map_err(|e| format!("The endpoint: {e}."))?;
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

fn tls_in_chain(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = e.source();
    while let Some(c) = cause {
        let io_invalid = c
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData);
        if io_invalid || c.to_string().to_ascii_lowercase().contains("certificate") {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Connects to the mail server, negotiates TLS as configured and authenticates; sends nothing.
async fn verify_smtp(
    host: &str,
    port: u16,
    tls: SmtpTls,
    username: &str,
    password: &str,
    (timeout, allow_loopback): (std::time::Duration, bool),
) -> Result<String, String> {
    use lettre::{
        AsyncSmtpTransport, Tokio1Executor,
        transport::smtp::{
            authentication::Credentials as SmtpCredentials,
            client::{Tls, TlsParameters},
        },
    };
    let params = || {
        TlsParameters::new(host.to_owned())
            .map_err(|_| format!("Could not prepare TLS for {host}."))
    };
    let tls_mode = match tls {
        SmtpTls::StartTls => Tls::Required(params()?),
        SmtpTls::Tls => Tls::Wrapper(params()?),
        SmtpTls::None => Tls::None,
    };
    // Connected to an address checked here (`outbound`), with TLS still verifying the host name.
    let addr = crate::outbound::resolve(host, port, allow_loopback).await?;
    let transport: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
            .port(addr.port())
            .tls(tls_mode)
            .timeout(Some(timeout))
            .credentials(SmtpCredentials::new(
                username.to_owned(),
                password.to_owned(),
            ))
            .build();
    let at = format!("{host}:{port}");
    match transport.test_connection().await {
        Ok(true) => Ok(format!(
            "{at} accepted the sign-in{}.",
            match tls {
                SmtpTls::None => " (unencrypted, this machine only)",
                _ => " over TLS, certificate verified",
            }
        )),
        Ok(false) => Err(format!("{at} closed the connection after the sign-in.")),
        Err(e) if e.is_timeout() => Err(format!("{at} did not answer within the time limit.")),
        Err(e) if e.is_tls() => Err(format!(
            "TLS with {at} failed: the certificate is not trusted or does not name {host}, or the server does not speak TLS there."
        )),
        Err(e) if e.is_permanent() => match e.status() {
            // 535: authentication credentials invalid (RFC 4954).
            Some(code) if code.to_string().starts_with("535") => {
                Err(format!("{at} refused the username or password (535)."))
            }
            Some(code) => Err(format!("{at} refused the sign-in ({code}).")),
            None => Err(format!("{at} refused the sign-in.")),
        },
        Err(e) if e.is_client() => Err(format!(
            "{at} does not offer what is needed: {}.",
            e.to_string().trim_end_matches('.')
        )),
        Err(e) if e.is_transient() => Err(format!(
            "{at} asked to try again later ({}).",
            e.status().map(|c| c.to_string()).unwrap_or_default()
        )),
        // rustls reports a failed handshake as an io error of kind InvalidData inside a
        // connection error.
        Err(e) if tls_in_chain(&e) => Err(format!(
            "TLS with {at} failed: the certificate is not trusted or does not name {host}, or the server does not speak TLS there."
        )),
        Err(_) => Err(format!("Could not connect to {at}.")),
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
        Ok(secret) => match &connection.target {
            Target::Webhook { url, header_name } => {
                verify_webhook(ctx, &connection.name, url, header_name, &secret).await
            }
            Target::Smtp {
                host,
                port,
                tls,
                username,
            } => {
                let settings = &ctx.key_vault.settings;
                let limits = (settings.request_timeout, settings.allow_loopback);
                verify_smtp(host, *port, *tls, username, &secret, limits).await
            }
        },
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
        "UPDATE connections SET last_verified_at = $1, last_verify_ok = $2, last_verify_message = $3 \
         WHERE id = $4",
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
    /// Where the connection points: `url` and `headerName`, or `host`, `port`, `tls` and
    /// `username`.
    pub settings: serde_json::Value,
    /// `key_vault` or `stored`.
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    pub credential: String,
}

fn settings_json(target: &Target) -> serde_json::Value {
    match target {
        Target::Webhook { url, header_name } => {
            serde_json::json!({ "url": url, "headerName": header_name })
        }
        Target::Smtp {
            host,
            port,
            tls,
            username,
        } => serde_json::json!({
            "host": host, "port": port, "tls": tls.as_str(), "username": username,
        }),
    }
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
        kind: connection.target.kind().as_str(),
        settings: settings_json(&connection.target),
        connection: connection.name,
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
