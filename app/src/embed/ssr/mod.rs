//! The server side of embedding: the allow-list, the embed secret, and embed sessions.

mod sessions;
pub mod token;

pub use sessions::{EmbedSession, Exchange, end_session, exchange, prune, session_user};
pub use token::Refusal;

use super::{EmbedOrigin, EmbedSettings, parse_origin};
use crate::{
    api_keys::RevealPurpose,
    audit::ssr as audit,
    auth::ssr::{AppContext, client_addr},
    db::begin_write,
    error::AppError,
    roles::UserInfo,
    time_fmt::unix_now,
};
use sqlx::SqliteConnection;
use std::sync::Arc;

/// Where the frame exchanges an embed token for an embed session.
pub const EXCHANGE_PATH: &str = "/embed/session";

/// Settings from the server's configuration.
#[derive(Clone, Debug)]
pub struct EmbedConfig {
    /// `GATEHOUSE_FRAME_ANCESTORS`, when set: the allow-list, instead of the card's.
    pub fixed_origins: Option<Arc<[String]>>,
    /// How long an embed session lasts (at most 15 minutes).
    pub session_seconds: i64,
}

/// The embed secret's associated data: its ciphertext opens only as this row.
const SECRET_AAD: &[u8] = b"gatehouse embed secret";
/// Embed secrets start with this, so that secret scanners can find leaked ones.
const SECRET_PREFIX: &str = "gatehouse_embed_";

/// The allowed portal origins, as `frame-ancestors` sources: the configured ones when
/// `GATEHOUSE_FRAME_ANCESTORS` is set, else the card's list.
pub async fn allowed_sources(ctx: &AppContext) -> Result<Vec<String>, AppError> {
    if let Some(fixed) = &ctx.embed.fixed_origins {
        return Ok(fixed.to_vec());
    }
    Ok(
        sqlx::query_scalar("SELECT origin FROM embed_origins ORDER BY origin")
            .fetch_all(&ctx.pool)
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
            })
            .collect(),
        None => sqlx::query_as::<_, (String, i64)>(
            "SELECT origin, added_at FROM embed_origins ORDER BY origin",
        )
        .fetch_all(&ctx.pool)
        .await?
        .into_iter()
        .map(|(origin, added_at)| EmbedOrigin {
            origin,
            added_at: Some(added_at),
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
    conn: &mut SqliteConnection,
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

pub async fn add_origin(ctx: &AppContext, admin: &UserInfo, input: &str) -> Result<(), AppError> {
    refuse_when_fixed(ctx)?;
    let origin = parse_origin(input).map_err(|m| AppError::invalid("origin", m))?;
    let mut tx = begin_write(&ctx.pool).await?;
    let added = sqlx::query(
        "INSERT INTO embed_origins (origin, added_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(&origin)
    .bind(unix_now())
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
    let removed = sqlx::query("DELETE FROM embed_origins WHERE origin = ?")
        .bind(origin)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(AppError::NotFound);
    }
    sqlx::query("DELETE FROM embed_sessions WHERE origin = ?")
        .bind(origin)
        .execute(&mut *tx)
        .await?;
    record(&mut tx, admin, "embed.origin.remove", Some(origin)).await?;
    tx.commit().await?;
    Ok(())
}

fn new_secret() -> String {
    format!(
        "{SECRET_PREFIX}{}",
        crate::users::ssr::tokens::random_token()
    )
}

async fn store_secret(
    conn: &mut SqliteConnection,
    ctx: &AppContext,
    secret: &str,
) -> Result<(), AppError> {
    let sealed = ctx.api_keys.sealer.seal(secret.as_bytes(), SECRET_AAD);
    sqlx::query(
        "INSERT INTO embed_secret (id, nonce, ciphertext, created_at) VALUES (1, ?, ?, ?) \
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
pub async fn secret(
    conn: &mut SqliteConnection,
    ctx: &AppContext,
) -> Result<Option<String>, AppError> {
    let row: Option<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT nonce, ciphertext FROM embed_secret WHERE id = 1")
            .fetch_optional(conn)
            .await?;
    let Some((nonce, ciphertext)) = row else {
        return Ok(None);
    };
    let plain = ctx
        .api_keys
        .sealer
        .open(&nonce, &ciphertext, SECRET_AAD)
        .map_err(AppError::internal)?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(AppError::internal)
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

/// A new secret: tokens signed with the old one are refused, and every embed session ends.
pub async fn regenerate_secret(ctx: &AppContext, admin: &UserInfo) -> Result<(), AppError> {
    let mut tx = begin_write(&ctx.pool).await?;
    store_secret(&mut tx, ctx, &new_secret()).await?;
    sqlx::query("DELETE FROM embed_sessions")
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
