//! The server side of embedding: the allow-list, the embed secret, and embed sessions.

pub mod config;
mod sessions;
pub mod token;

pub use config::EmbedConfig;
pub use sessions::{EmbedSession, Exchange, Exchanged, end_session, exchange, prune};
pub use token::Refusal;

use super::{EmbedOrigin, EmbedSettings, parse_origin};
use crate::db::Conn;
use crate::{
    api_keys::{
        RevealPurpose,
        ssr::sealing::{Aad, SealedColumn},
    },
    audit::ssr as audit,
    auth::ssr::client_addr,
    context::AppContext,
    db::begin_write,
    error::AppError,
    roles::UserInfo,
    time_fmt::unix_now,
};

/// Where the frame exchanges an embed token for an embed session.
pub const EXCHANGE_PATH: &str = "/embed/session";

/// The embed secret's associated data: its ciphertext opens only as this row.
const SECRET_AAD: &[u8] = b"gatehouse embed secret";
/// Embed secrets start with this, so that secret scanners can find leaked ones.
const SECRET_PREFIX: &str = "gatehouse_embed_";

/// The allowed portal origins, as `frame-ancestors` sources: the configured ones when
/// `GATEHOUSE_FRAME_ANCESTORS` is set, else the card's list.
pub async fn allowed_sources(ctx: &AppContext) -> Result<Vec<String>, AppError> {
    allowed_sources_on(&mut *ctx.pool.acquire().await?, ctx).await
}

/// `allowed_sources`, read on `conn` (inside a transaction).
pub async fn allowed_sources_on(
    conn: &mut Conn,
    ctx: &AppContext,
) -> Result<Vec<String>, AppError> {
    if let Some(fixed) = &ctx.embed.fixed_origins {
        return Ok(fixed.to_vec());
    }
    Ok(
        sqlx::query_scalar("SELECT origin FROM embed_origins ORDER BY origin")
            .fetch_all(conn)
            .await?,
    )
}

/// Whether `origin` (normalised) may embed the page: an exact entry of the list, or one of
/// `GATEHOUSE_FRAME_ANCESTORS`'s patterns (`*.` subdomains, `:*` any port), as browsers read
/// them in `frame-ancestors`.
pub fn source_allows(source: &str, origin: &str) -> bool {
    let source = source.trim_end_matches('/').to_ascii_lowercase();
    if source == origin {
        return true;
    }
    let (Some((s_scheme, s_rest)), Some((o_scheme, o_rest))) =
        (source.split_once("://"), origin.split_once("://"))
    else {
        return false;
    };
    if s_scheme != o_scheme {
        return false;
    }
    let (s_host, s_port) = s_rest
        .rsplit_once(':')
        .map_or((s_rest, None), |(h, p)| (h, Some(p)));
    let (o_host, o_port) = o_rest
        .rsplit_once(':')
        .map_or((o_rest, None), |(h, p)| (h, Some(p)));
    let port_ok = s_port == Some("*") || s_port == o_port;
    let host_ok = match s_host.strip_prefix("*.") {
        Some(parent) => o_host.ends_with(&format!(".{parent}")),
        None => s_host == o_host,
    };
    port_ok && host_ok
}

pub async fn settings(ctx: &AppContext) -> Result<EmbedSettings, AppError> {
    let origins = match &ctx.embed.fixed_origins {
        Some(fixed) => fixed
            .iter()
            .map(|o| EmbedOrigin {
                origin: o.clone(),
                added_at: None,
                secret_created_at: None,
            })
            .collect(),
        None => sqlx::query_as::<_, (String, i64, Option<i64>)>(
            "SELECT origin, added_at, secret_created_at FROM embed_origins ORDER BY origin",
        )
        .fetch_all(&ctx.pool)
        .await?
        .into_iter()
        .map(|(origin, added_at, secret_created_at)| EmbedOrigin {
            origin,
            added_at: Some(added_at),
            secret_created_at,
        })
        .collect(),
    };
    let secret_created_at = sqlx::query_scalar("SELECT created_at FROM embed_secret WHERE id = 1")
        .fetch_optional(&ctx.pool)
        .await?;
    Ok(EmbedSettings {
        origins,
        fixed_by_config: ctx.embed.fixed_origins.is_some(),
        secret_created_at,
        session_seconds: ctx.embed.session_seconds,
    })
}

fn refuse_when_fixed(ctx: &AppContext) -> Result<(), AppError> {
    if ctx.embed.fixed_origins.is_some() {
        return Err(AppError::Conflict(
            "The allowed origins are set by GATEHOUSE_FRAME_ANCESTORS on the server; change them there."
                .into(),
        ));
    }
    Ok(())
}

async fn record(
    conn: &mut Conn,
    admin: &UserInfo,
    action: &str,
    target: Option<&str>,
) -> Result<(), AppError> {
    audit::record(
        conn,
        audit::Entry {
            actor: Some(admin),
            action,
            target,
            detail: "",
            client_addr: client_addr().as_deref(),
        },
    )
    .await
}

/// Adds a portal origin with a secret of its own: its tokens verify with that secret only.
pub async fn add_origin(ctx: &AppContext, admin: &UserInfo, input: &str) -> Result<(), AppError> {
    refuse_when_fixed(ctx)?;
    let origin = parse_origin(input).map_err(|m| AppError::invalid("origin", m))?;
    let sealed = ctx
        .api_keys
        .sealer
        .seal(new_secret().as_bytes(), &origin_aad(&origin));
    let now = unix_now();
    let mut tx = begin_write(&ctx.pool).await?;
    let added = sqlx::query(
        "INSERT INTO embed_origins \
         (origin, added_at, secret_nonce, secret_ciphertext, secret_created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(&origin)
    .bind(now)
    .bind(sealed.nonce)
    .bind(sealed.ciphertext)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if added == 0 {
        return Err(AppError::invalid(
            "origin",
            "This origin is on the list already.",
        ));
    }
    record(&mut tx, admin, "embed.origin.add", Some(&origin)).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes an origin: its tokens are refused from now on and its embed sessions end.
pub async fn remove_origin(
    ctx: &AppContext,
    admin: &UserInfo,
    origin: &str,
) -> Result<(), AppError> {
    refuse_when_fixed(ctx)?;
    let mut tx = begin_write(&ctx.pool).await?;
    let removed = sqlx::query("DELETE FROM embed_origins WHERE origin = $1")
        .bind(origin)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(AppError::NotFound);
    }
    sqlx::query("DELETE FROM embed_sessions WHERE origin = $1")
        .bind(origin)
        .execute(&mut *tx)
        .await?;
    record(&mut tx, admin, "embed.origin.remove", Some(origin)).await?;
    tx.commit().await?;
    Ok(())
}

/// A portal's own secret opens only as that portal's row.
const ORIGIN_AAD_PREFIX: &str = "gatehouse embed secret for ";

fn origin_aad(origin: &str) -> Vec<u8> {
    format!("{ORIGIN_AAD_PREFIX}{origin}").into_bytes()
}

/// The values this module seals under the master key (see `SealedColumn`).
pub const SEALED: [SealedColumn; 2] = [
    SealedColumn {
        table: "embed_secret",
        nonce: "nonce",
        ciphertext: "ciphertext",
        aad: Aad::Fixed(SECRET_AAD),
    },
    SealedColumn {
        table: "embed_origins",
        nonce: "secret_nonce",
        ciphertext: "secret_ciphertext",
        aad: Aad::Prefixed(ORIGIN_AAD_PREFIX, "origin"),
    },
];

/// What a listed portal signs with.
enum OwnSecret {
    /// Its own secret: nonce and ciphertext, sealed under the master key.
    Sealed(Vec<u8>, Vec<u8>),
    /// The shared secret (listed before portals had their own).
    Shared,
}

/// The listed portal `origin`'s secret, or `None` when it is not on the list.
async fn listed_origin(conn: &mut Conn, origin: &str) -> Result<Option<OwnSecret>, AppError> {
    type Row = (Option<Vec<u8>>, Option<Vec<u8>>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT secret_nonce, secret_ciphertext FROM embed_origins WHERE origin = $1",
    )
    .bind(origin)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|sealed| match sealed {
        (Some(nonce), Some(ciphertext)) => OwnSecret::Sealed(nonce, ciphertext),
        _ => OwnSecret::Shared,
    }))
}

/// The secret a token for `origin` must be signed with: the portal's own, or (for a portal
/// listed before portals had their own, and for those `GATEHOUSE_FRAME_ANCESTORS` sets) the
/// shared one. None when `origin` may not embed the page or no such secret exists yet.
pub async fn secret_for(
    conn: &mut Conn,
    ctx: &AppContext,
    origin: &str,
) -> Result<Option<String>, AppError> {
    if ctx.embed.fixed_origins.is_none() {
        match listed_origin(conn, origin).await? {
            None => return Ok(None),
            Some(OwnSecret::Sealed(nonce, ciphertext)) => {
                return open_secret(ctx, &nonce, &ciphertext, &origin_aad(origin)).map(Some);
            }
            Some(OwnSecret::Shared) => {}
        }
    } else if !allowed_sources_on(conn, ctx)
        .await?
        .iter()
        .any(|s| source_allows(s, origin))
    {
        return Ok(None);
    }
    secret(conn, ctx).await
}

fn open_secret(
    ctx: &AppContext,
    nonce: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> Result<String, AppError> {
    let plain = ctx
        .api_keys
        .sealer
        .open(nonce, ciphertext, aad)
        .map_err(AppError::internal)?;
    String::from_utf8(plain).map_err(AppError::internal)
}

/// A portal's own secret, for Show and Copy (audited). A portal that still signs with the
/// shared secret has none: Regenerate gives it one.
pub async fn reveal_origin_secret(
    ctx: &AppContext,
    admin: &UserInfo,
    origin: &str,
    purpose: RevealPurpose,
) -> Result<String, AppError> {
    refuse_when_fixed(ctx)?;
    let mut tx = begin_write(&ctx.pool).await?;
    let secret = match listed_origin(&mut tx, origin)
        .await?
        .ok_or(AppError::NotFound)?
    {
        OwnSecret::Sealed(nonce, ciphertext) => {
            open_secret(ctx, &nonce, &ciphertext, &origin_aad(origin))?
        }
        OwnSecret::Shared => {
            return Err(AppError::Conflict(
                "This portal still signs with the shared secret: Regenerate gives it its own."
                    .into(),
            ));
        }
    };
    let action = match purpose {
        RevealPurpose::Show => "embed.origin.secret.show",
        RevealPurpose::Copy => "embed.origin.secret.copy",
    };
    record(&mut tx, admin, action, Some(origin)).await?;
    tx.commit().await?;
    Ok(secret)
}

/// A new secret for one portal: its tokens signed with the old one (or with the shared secret)
/// are refused and its embed sessions end; other portals are untouched.
pub async fn regenerate_origin_secret(
    ctx: &AppContext,
    admin: &UserInfo,
    origin: &str,
) -> Result<(), AppError> {
    refuse_when_fixed(ctx)?;
    let sealed = ctx
        .api_keys
        .sealer
        .seal(new_secret().as_bytes(), &origin_aad(origin));
    let mut tx = begin_write(&ctx.pool).await?;
    let changed = sqlx::query(
        "UPDATE embed_origins SET secret_nonce = $1, secret_ciphertext = $2, secret_created_at = $3 \
         WHERE origin = $4",
    )
    .bind(sealed.nonce)
    .bind(sealed.ciphertext)
    .bind(unix_now())
    .bind(origin)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(AppError::NotFound);
    }
    sqlx::query("DELETE FROM embed_sessions WHERE origin = $1")
        .bind(origin)
        .execute(&mut *tx)
        .await?;
    record(
        &mut tx,
        admin,
        "embed.origin.secret.regenerate",
        Some(origin),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", crate::tokens::random_token())
}

async fn store_secret(conn: &mut Conn, ctx: &AppContext, secret: &str) -> Result<(), AppError> {
    let sealed = ctx.api_keys.sealer.seal(secret.as_bytes(), SECRET_AAD);
    sqlx::query(
        "INSERT INTO embed_secret (id, nonce, ciphertext, created_at) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET nonce = excluded.nonce, \
         ciphertext = excluded.ciphertext, created_at = excluded.created_at",
    )
    .bind(sealed.nonce)
    .bind(sealed.ciphertext)
    .bind(unix_now())
    .execute(conn)
    .await?;
    Ok(())
}

/// The embed secret, decrypted; none before its first use.
pub async fn secret(conn: &mut Conn, ctx: &AppContext) -> Result<Option<String>, AppError> {
    let row: Option<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT nonce, ciphertext FROM embed_secret WHERE id = 1")
            .fetch_optional(conn)
            .await?;
    let Some((nonce, ciphertext)) = row else {
        return Ok(None);
    };
    open_secret(ctx, &nonce, &ciphertext, SECRET_AAD).map(Some)
}

pub async fn reveal_secret(
    ctx: &AppContext,
    admin: &UserInfo,
    purpose: RevealPurpose,
) -> Result<String, AppError> {
    let mut tx = begin_write(&ctx.pool).await?;
    let existing = secret(&mut tx, ctx).await?;
    let secret = match existing {
        Some(s) => s,
        None => {
            let s = new_secret();
            store_secret(&mut tx, ctx, &s).await?;
            record(&mut tx, admin, "embed.secret.create", None).await?;
            s
        }
    };
    let action = match purpose {
        RevealPurpose::Show => "embed.secret.show",
        RevealPurpose::Copy => "embed.secret.copy",
    };
    record(&mut tx, admin, action, None).await?;
    tx.commit().await?;
    Ok(secret)
}

/// A new shared secret: tokens signed with the old one are refused, and the embed sessions of
/// the portals that sign with it end (portals with their own secret are untouched).
pub async fn regenerate_secret(ctx: &AppContext, admin: &UserInfo) -> Result<(), AppError> {
    let mut tx = begin_write(&ctx.pool).await?;
    store_secret(&mut tx, ctx, &new_secret()).await?;
    sqlx::query(
        "DELETE FROM embed_sessions WHERE origin NOT IN \
         (SELECT origin FROM embed_origins WHERE secret_ciphertext IS NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    record(&mut tx, admin, "embed.secret.regenerate", None).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::source_allows;

    #[test]
    fn configured_sources_match_as_browsers_match_them() {
        assert!(source_allows(
            "https://portal.example.com",
            "https://portal.example.com"
        ));
        assert!(source_allows(
            "https://portal.example.com/",
            "https://portal.example.com"
        ));
        assert!(source_allows(
            "https://*.example.com",
            "https://a.example.com"
        ));
        assert!(!source_allows(
            "https://*.example.com",
            "https://example.com"
        ));
        assert!(!source_allows(
            "https://*.example.com",
            "https://a.example.com.evil.test"
        ));
        assert!(source_allows("http://localhost:*", "http://localhost:5173"));
        assert!(!source_allows(
            "https://portal.example.com",
            "http://portal.example.com"
        ));
        assert!(!source_allows(
            "https://portal.example.com",
            "https://portal.example.com:8443"
        ));
        assert!(!source_allows("'self'", "https://portal.example.com"));
    }
}
