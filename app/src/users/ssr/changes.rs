//! Adding, changing and removing principals. Each change is one `BEGIN IMMEDIATE` transaction
//! with its audit row: it happens and is recorded, or neither.

use super::{ensure_an_admin_remains, invitations, list, record, tokens};
use crate::{
    db::begin_write,
    error::AppError,
    roles::{Role, UserInfo},
    users::{Added, Email, MAX_NAME_CHARS, Principal, PrincipalKind},
};
use sqlx::SqlitePool;

/// A group's or application's name: trimmed, 1 to 200 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("principal", "Enter a name."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "principal",
            format!("A name has at most {MAX_NAME_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "principal",
            "A name cannot contain control characters.",
        ));
    }
    if name.chars().any(crate::text::is_invisible_format) {
        return Err(AppError::invalid(
            "principal",
            "A name cannot contain invisible formatting characters (such as direction marks or zero-width spaces).",
        ));
    }
    Ok(name.to_owned())
}

pub async fn add(
    pool: &SqlitePool,
    admin: &UserInfo,
    kind: PrincipalKind,
    principal: &str,
    role: Role,
) -> Result<Added, AppError> {
    let mut tx = begin_write(pool).await?;
    let (id, invitation_path, client_secret) = match kind {
        PrincipalKind::User => {
            let email = Email::parse(principal).map_err(|m| AppError::invalid("principal", m))?;
            // The invitee chooses their name; until then the address's local part stands in.
            let name: String = email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .chars()
                .take(MAX_NAME_CHARS)
                .collect();
            let id = super::create(
                &mut tx,
                super::NewUser {
                    email: &email,
                    name: &name,
                    role,
                    lockbox_approver: false,
                    password_hash: None,
                },
            )
            .await?;
            let path = invitations::issue(&mut tx, id).await?;
            record(&mut tx, admin, "user.invite", email.as_str(), "").await?;
            (id, Some(path), None)
        }
        PrincipalKind::Group | PrincipalKind::Application => {
            let name = parse_name(principal)?;
            let secret = (kind == PrincipalKind::Application).then(tokens::new_secret);
            let inserted = sqlx::query(
                "INSERT INTO principals (kind, name, handle, role, secret_digest) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(kind.as_str())
            .bind(&name)
            .bind(tokens::new_id())
            .bind(role.as_str())
            .bind(secret.as_deref().map(|s| tokens::digest(s).to_vec()))
            .execute(&mut *tx)
            .await;
            let id = match inserted {
                Ok(done) => done.last_insert_rowid(),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(AppError::invalid(
                        "principal",
                        format!(
                            "A {} with this name already exists.",
                            kind.label().to_lowercase()
                        ),
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            (id, None, secret)
        }
    };
    let principal = list::one(&mut tx, id).await?;
    record(
        &mut tx,
        admin,
        "principal.add",
        &principal.email_or_id,
        &format!(
            "type={} name={} role={}",
            kind.as_str(),
            principal.name,
            role.as_str()
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Added {
        principal,
        invitation_path,
        client_secret,
    })
}

pub async fn change_role(
    pool: &SqlitePool,
    admin: &UserInfo,
    id: i64,
    role: Role,
    confirm_self: bool,
    lockbox_approver: Option<bool>,
) -> Result<Principal, AppError> {
    if id == admin.id && role < Role::Admin && !confirm_self {
        return Err(AppError::invalid(
            "role",
            "You are about to remove your own Admin role. Confirm to go ahead.",
        ));
    }
    let mut tx = begin_write(pool).await?;
    let before = list::one(&mut tx, id).await?;
    sqlx::query("UPDATE principals SET role = ? WHERE id = ?")
        .bind(role.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if role < before.role {
        ensure_an_admin_remains(&mut tx).await?;
    }
    if role != before.role {
        record(
            &mut tx,
            admin,
            "principal.role",
            &before.email_or_id,
            &format!("{} -> {}", before.role.as_str(), role.as_str()),
        )
        .await?;
    }
    if let Some(approver) = lockbox_approver.filter(|a| *a != before.lockbox_approver) {
        if before.kind != PrincipalKind::User {
            return Err(AppError::invalid(
                "lockbox_approver",
                "Only users can be Lockbox approvers.",
            ));
        }
        sqlx::query("UPDATE principals SET lockbox_approver = ? WHERE id = ?")
            .bind(approver)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            admin,
            "principal.lockbox_approver",
            &before.email_or_id,
            if approver { "on" } else { "off" },
        )
        .await?;
    }
    let after = list::one(&mut tx, id).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn remove(pool: &SqlitePool, admin: &UserInfo, id: i64) -> Result<(), AppError> {
    let mut tx = begin_write(pool).await?;
    let gone = list::one(&mut tx, id).await?;
    sqlx::query("DELETE FROM principals WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    ensure_an_admin_remains(&mut tx).await?;
    record(
        &mut tx,
        admin,
        "principal.remove",
        &gone.email_or_id,
        &format!("type={} name={}", gone.kind.as_str(), gone.name),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn reinvite(pool: &SqlitePool, admin: &UserInfo, id: i64) -> Result<String, AppError> {
    let mut tx = begin_write(pool).await?;
    let user = list::one(&mut tx, id).await?;
    if user.kind != PrincipalKind::User || !user.pending {
        return Err(AppError::invalid(
            "principal",
            "Only a user who has not accepted their invitation can be invited again.",
        ));
    }
    let path = invitations::issue(&mut tx, id).await?;
    record(&mut tx, admin, "user.invite", &user.email_or_id, "again").await?;
    tx.commit().await?;
    Ok(path)
}

/// The active user `id`, or why it is not one.
async fn active_user(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
    what: &str,
) -> Result<crate::users::Principal, AppError> {
    let user = list::one(conn, id).await?;
    if user.kind != PrincipalKind::User || user.pending {
        return Err(AppError::invalid(
            "principal",
            format!("Only a user who has accepted their invitation can {what}."),
        ));
    }
    Ok(user)
}

/// Retires the user's password, ends their sessions and returns a new one-time link with which
/// they choose another. Refused when it would leave nobody who can sign in as Admin.
pub async fn reset_password(
    pool: &SqlitePool,
    admin: &UserInfo,
    id: i64,
) -> Result<String, AppError> {
    let mut tx = begin_write(pool).await?;
    let user = active_user(&mut tx, id, "have their password reset").await?;
    sqlx::query("UPDATE principals SET password_hash = NULL WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    super::end_sessions(&mut tx, id).await?;
    ensure_an_admin_remains(&mut tx).await?;
    let path = invitations::issue(&mut tx, id).await?;
    record(&mut tx, admin, "user.password_reset", &user.email_or_id, "").await?;
    tx.commit().await?;
    Ok(path)
}

/// Ends every session of the user at once; their password stays.
pub async fn end_user_sessions(
    pool: &SqlitePool,
    admin: &UserInfo,
    id: i64,
) -> Result<(), AppError> {
    let mut tx = begin_write(pool).await?;
    let user = active_user(&mut tx, id, "have their sessions ended").await?;
    super::end_sessions(&mut tx, id).await?;
    record(&mut tx, admin, "user.sessions_ended", &user.email_or_id, "").await?;
    tx.commit().await?;
    Ok(())
}

pub async fn regenerate_secret(
    pool: &SqlitePool,
    admin: &UserInfo,
    id: i64,
) -> Result<String, AppError> {
    let mut tx = begin_write(pool).await?;
    let app = list::one(&mut tx, id).await?;
    if app.kind != PrincipalKind::Application {
        return Err(AppError::invalid(
            "principal",
            "Only applications have a client secret.",
        ));
    }
    let secret = tokens::new_secret();
    sqlx::query("UPDATE principals SET secret_digest = ? WHERE id = ?")
        .bind(tokens::digest(&secret).to_vec())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    record(&mut tx, admin, "application.secret", &app.email_or_id, "").await?;
    tx.commit().await?;
    Ok(secret)
}
