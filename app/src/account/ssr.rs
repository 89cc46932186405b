//! The caller's own account, on the server: a new password, and signing out everywhere.

use crate::{
    audit::ssr as audit, auth::ssr as auth, context::AppContext, error::AppError, principals,
    roles::UserInfo,
};

async fn record_own(
    conn: &mut crate::db::Conn,
    me: &UserInfo,
    action: &str,
) -> Result<(), AppError> {
    audit::record(
        conn,
        audit::Entry {
            actor: Some(me),
            action,
            target: Some(&me.email),
            detail: "",
            client_addr: auth::client_addr().as_deref(),
        },
    )
    .await
}

/// A new password for the caller, after the current one checks out; their other sessions end.
pub async fn change_password(
    ctx: &AppContext,
    me: &UserInfo,
    current: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    // An embedded page has no cookie session to keep: refused before anything is written.
    let session = auth::request_session().await?;
    auth::confirm_password(
        (&ctx.pool, &ctx.password_throttle),
        me,
        current,
        ("current", "The current password is not correct."),
    )
    .await?;
    crate::auth::check_new_password(&password, &confirm)?;
    let hash = auth::hash_password(password).await?;
    let mut tx = crate::db::begin_write(&ctx.pool).await?;
    sqlx::query("UPDATE principals SET password_hash = $1, password_chosen = TRUE WHERE id = $2")
        .bind(&hash)
        .bind(me.id)
        .execute(&mut *tx)
        .await?;
    let epoch = principals::end_sessions(&mut tx, me.id).await?;
    record_own(&mut tx, me, "user.password_changed").await?;
    tx.commit().await?;
    auth::keep_session(&session, epoch).await
}

/// Ends every session of the caller, the current one too.
pub async fn sign_out_everywhere(ctx: &AppContext, me: &UserInfo) -> Result<(), AppError> {
    // An embedded page has no cookie session: refused before anything is written.
    let session = auth::request_session().await?;
    let mut tx = crate::db::begin_write(&ctx.pool).await?;
    principals::end_sessions(&mut tx, me.id).await?;
    record_own(&mut tx, me, "auth.sign_out_everywhere").await?;
    tx.commit().await?;
    session.flush().await?;
    Ok(())
}
