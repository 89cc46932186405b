//! Embed sessions: an embed token exchanged for a short-lived session token that the frame
//! keeps in memory and sends as a header. Stored as a SHA-256 digest in the database, so every
//! server on it honours (and ends) the same sessions.

use super::{
    allowed_sources_on, secret_for, source_allows,
    token::{LEEWAY, Refusal, validate},
};
use crate::db::Pool;
use crate::{
    audit::ssr as audit,
    auth::embed_session::SESSION_PREFIX,
    context::AppContext,
    db::begin_write,
    embed::parse_origin,
    error::AppError,
    roles::UserInfo,
    time_fmt::unix_now,
    tokens::{digest, random_token},
};

/// What the frame sends: the token the portal handed over, and the origin of the page that
/// handed it (the frame's parent, as `event.origin` named it).
pub struct Exchange<'a> {
    pub token: &'a str,
    pub parent: &'a str,
    pub client: Option<&'a str>,
    /// The session this one replaces (a renewal), ended once the new one exists.
    pub previous: Option<&'a str>,
}

#[derive(Debug)]
pub struct EmbedSession {
    pub token: String,
    pub expires_at: i64,
    pub user: UserInfo,
    pub origin: String,
    pub tab: Option<String>,
}

/// What an exchange came to: a session, or why the token was refused.
#[derive(Debug)]
pub enum Exchanged {
    Opened(EmbedSession),
    Refused(Refusal),
}

/// Checks the token in full and, when it passes, uses up its `jti` and opens a session, in one
/// transaction. Every outcome is audited: `embed.session` or `embed.refused` with the reason.
pub async fn exchange(ctx: &AppContext, request: Exchange<'_>) -> Result<Exchanged, AppError> {
    let outcome = open(ctx, &request).await?;
    if let Exchanged::Refused(refusal) = &outcome {
        let mut conn = ctx.pool.acquire().await?;
        // The parent origin is the frame's claim: kept short, written escaped like any text.
        let parent: String = request.parent.chars().take(300).collect();
        audit::record(
            &mut conn,
            audit::Entry {
                actor: None,
                action: "embed.refused",
                target: Some(&parent),
                detail: &format!("reason={}", refusal.code()),
                client_addr: request.client,
            },
        )
        .await?;
    }
    Ok(outcome)
}

/// The `origin` claim of a token, read before its signature is checked, only to choose the
/// portal's secret to check it with; `validate` then checks the signature over these very
/// claims, so a forged origin finds the wrong secret and fails.
fn claimed_origin(token: &str) -> Option<String> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    #[derive(serde::Deserialize)]
    struct OriginOnly {
        origin: String,
    }
    let payload = token.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    Some(serde_json::from_slice::<OriginOnly>(&json).ok()?.origin)
}

/// Every check and every write of an exchange happen in one write transaction: the allow-list,
/// the portal's secret and the user's session epoch are the ones in force when the session is
/// written, so a portal removed, a secret regenerated or sessions ended a moment earlier are
/// never outrun by an exchange that read them before.
async fn open(ctx: &AppContext, request: &Exchange<'_>) -> Result<Exchanged, AppError> {
    let now = unix_now();
    if request.token.len() > 4096 {
        return Ok(Exchanged::Refused(Refusal::Malformed));
    }
    let Some(claimed) = claimed_origin(request.token) else {
        return Ok(Exchanged::Refused(Refusal::Malformed));
    };
    let Ok(origin) = parse_origin(&claimed) else {
        return Ok(Exchanged::Refused(Refusal::OriginNotAllowed));
    };
    let mut tx = begin_write(&ctx.pool).await?;
    let Some(secret) = secret_for(&mut tx, ctx, &origin).await? else {
        let listed = allowed_sources_on(&mut tx, ctx)
            .await?
            .iter()
            .any(|s| source_allows(s, &origin));
        return Ok(Exchanged::Refused(if listed {
            Refusal::NotConfigured
        } else {
            Refusal::OriginNotAllowed
        }));
    };
    let claims = match validate(secret.as_bytes(), request.token, now) {
        Ok(c) => c,
        Err(r) => return Ok(Exchanged::Refused(r)),
    };
    if parse_origin(&claims.origin).ok().as_deref() != Some(origin.as_str()) {
        return Ok(Exchanged::Refused(Refusal::OriginNotAllowed));
    }
    if parse_origin(request.parent).ok().as_deref() != Some(origin.as_str()) {
        return Ok(Exchanged::Refused(Refusal::OriginMismatch));
    }
    let user = match crate::principals::find_credentials(&mut *tx, &claims.sub).await? {
        Some((user, Some(_password))) => user,
        _ => return Ok(Exchanged::Refused(Refusal::UnknownUser)),
    };
    let first_use = sqlx::query(
        "INSERT INTO embed_token_uses (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(&claims.jti)
    .bind(claims.exp.saturating_add(LEEWAY))
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !first_use {
        return Ok(Exchanged::Refused(Refusal::Replayed));
    }
    let epoch: i64 = sqlx::query_scalar("SELECT session_epoch FROM principals WHERE id = $1")
        .bind(user.id)
        .fetch_one(&mut *tx)
        .await?;
    let token = format!("{SESSION_PREFIX}{}", random_token());
    let expires_at = now + ctx.embed.session_seconds;
    sqlx::query(
        "INSERT INTO embed_sessions (digest, user_id, origin, epoch, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(digest(&token).as_slice())
    .bind(user.id)
    .bind(&origin)
    .bind(epoch)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    if let Some(previous) = request.previous {
        sqlx::query("DELETE FROM embed_sessions WHERE digest = $1 AND user_id = $2")
            .bind(digest(previous).as_slice())
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        audit::Entry {
            actor: Some(&user),
            action: "embed.session",
            target: Some(&origin),
            detail: "",
            client_addr: request.client,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Exchanged::Opened(EmbedSession {
        token,
        expires_at,
        user,
        origin,
        tab: claims.tab,
    }))
}

/// Ends one embed session (the frame's own, when the portal signs the user out).
pub async fn end_session(pool: &Pool, token: &str) -> Result<bool, AppError> {
    Ok(sqlx::query("DELETE FROM embed_sessions WHERE digest = $1")
        .bind(digest(token).as_slice())
        .execute(pool)
        .await?
        .rows_affected()
        > 0)
}

/// Deletes expired sessions and the used `jti`s of tokens that have expired anyway.
pub async fn prune(pool: &Pool) -> Result<(), AppError> {
    let now = unix_now();
    sqlx::query("DELETE FROM embed_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM embed_token_uses WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}
