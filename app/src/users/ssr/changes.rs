//! Adding, changing and removing principals. Each change is one `BEGIN IMMEDIATE` transaction
//! with its audit row: it happens and is recorded, or neither.

use super::{ensure_an_admin_remains, invitations, list, record};
use crate::db::Flag;
use crate::db::Pool;
use crate::tokens;
use crate::{
    db::begin_write,
    error::AppError,
    roles::{Role, UserInfo},
    two_person::ssr as two_person,
    users::{Added, Email, MAX_NAME_CHARS, Principal, PrincipalKind},
};

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
    pool: &Pool,
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
            let inserted = sqlx::query_scalar(
                "INSERT INTO principals (kind, name, handle, role, secret_digest) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(kind.as_str())
            .bind(&name)
            .bind(tokens::new_id())
            .bind(role.as_str())
            .bind(secret.as_deref().map(|s| tokens::digest(s).to_vec()))
            .fetch_one(&mut *tx)
            .await;
            let id = match inserted {
                Ok(id) => id,
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

/// What the Edit pane changes: the role, and the flag of the principal's kind (left as it is
/// when `None`).
pub struct RoleChange {
    pub id: i64,
    pub role: Role,
    /// An Admin lowering their own role said they mean it.
    pub confirm_self: bool,
    pub lockbox_approver: Option<bool>,
    pub support_application: Option<bool>,
}

pub async fn change_role(
    pool: &Pool,
    admin: &UserInfo,
    change: RoleChange,
) -> Result<Principal, AppError> {
    let RoleChange { id, role, .. } = change;
    if id == admin.id && role < Role::Admin && !change.confirm_self {
        return Err(AppError::invalid(
            "role",
            "You are about to remove your own Admin role. Confirm to go ahead.",
        ));
    }
    let mut tx = begin_write(pool).await?;
    let before = list::one(&mut tx, id).await?;
    sqlx::query("UPDATE principals SET role = $1 WHERE id = $2")
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
    if let Some(approver) = change
        .lockbox_approver
        .filter(|a| *a != before.lockbox_approver)
    {
        set_approver(&mut tx, admin, &before, approver).await?;
    }
    if let Some(support) = change
        .support_application
        .filter(|s| *s != before.support_application)
    {
        if before.kind != PrincipalKind::Application {
            return Err(AppError::invalid(
                "support_application",
                "Only applications can be support applications.",
            ));
        }
        sqlx::query("UPDATE principals SET support_application = $1 WHERE id = $2")
            .bind(support)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            admin,
            "principal.support_application",
            &before.email_or_id,
            if support { "on" } else { "off" },
        )
        .await?;
    }
    let after = list::one(&mut tx, id).await?;
    tx.commit().await?;
    Ok(after)
}

/// Gives or takes the Lockbox approver permission. Only a user who chose their own password
/// (and so has signed in with it) can be given it; while the two-person rule is in force, the
/// grant waits for a second approver instead of applying.
async fn set_approver(
    conn: &mut crate::db::Conn,
    admin: &UserInfo,
    user: &Principal,
    approver: bool,
) -> Result<(), AppError> {
    if user.kind != PrincipalKind::User {
        return Err(AppError::invalid(
            "lockbox_approver",
            "Only users can be Lockbox approvers.",
        ));
    }
    if approver {
        let Flag(chosen) = sqlx::query_scalar(
            "SELECT password_chosen AND password_hash IS NOT NULL FROM principals WHERE id = $1",
        )
        .bind(user.id)
        .fetch_one(&mut *conn)
        .await?;
        if !chosen {
            return Err(AppError::invalid(
                "lockbox_approver",
                "Only a user who has signed in with a password they chose themselves can be a Lockbox approver.",
            ));
        }
        if two_person::in_force(conn).await? {
            two_person::propose(
                conn,
                admin,
                two_person::Proposal::GrantApprover { user_id: user.id },
                &format!("Make {} a Lockbox approver", user.email_or_id),
            )
            .await?;
            return Ok(());
        }
    }
    grant_approver(conn, admin, user.id, approver).await
}

/// Sets the Lockbox approver permission as decided (by the Edit pane, or by a second approver's
/// confirmation), with its audit row.
pub async fn grant_approver(
    conn: &mut crate::db::Conn,
    actor: &UserInfo,
    user_id: i64,
    approver: bool,
) -> Result<(), AppError> {
    let handle: String = sqlx::query_scalar(
        "UPDATE principals SET lockbox_approver = $1 WHERE id = $2 AND kind = 'user' RETURNING handle",
    )
    .bind(approver)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    record(
        conn,
        actor,
        "principal.lockbox_approver",
        &handle,
        if approver { "on" } else { "off" },
    )
    .await
}

pub async fn remove(pool: &Pool, admin: &UserInfo, id: i64) -> Result<(), AppError> {
    let mut tx = begin_write(pool).await?;
    let gone = list::one(&mut tx, id).await?;
    sqlx::query("DELETE FROM principals WHERE id = $1")
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

pub async fn reinvite(pool: &Pool, admin: &UserInfo, id: i64) -> Result<String, AppError> {
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
    conn: &mut crate::db::Conn,
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

/// What an Admin's Reset password did: a link now, or (for a Lockbox approver while the
/// two-person rule is in force) a change waiting for a second approver.
#[derive(Debug)]
pub enum PasswordReset {
    Link(String),
    Waiting,
}

/// Retires the user's password, ends their sessions and returns a new one-time link with which
/// they choose another. Refused when it would leave nobody who can sign in as Admin. A Lockbox
/// approver's reset waits for a second approver while the two-person rule is in force: the
/// link would otherwise let one Admin sign in as a second approver.
pub async fn reset_password(
    pool: &Pool,
    admin: &UserInfo,
    id: i64,
) -> Result<PasswordReset, AppError> {
    let mut tx = begin_write(pool).await?;
    let user = active_user(&mut tx, id, "have their password reset").await?;
    if user.lockbox_approver && two_person::in_force(&mut tx).await? {
        two_person::propose(
            &mut tx,
            admin,
            two_person::Proposal::ResetPassword { user_id: id },
            &format!(
                "Reset the password of Lockbox approver {}",
                user.email_or_id
            ),
        )
        .await?;
        tx.commit().await?;
        return Ok(PasswordReset::Waiting);
    }
    let path = apply_password_reset(&mut tx, admin, id).await?;
    tx.commit().await?;
    Ok(PasswordReset::Link(path))
}

/// The reset itself, in the caller's transaction: the password retired, sessions ended, a new
/// link issued and audited.
pub async fn apply_password_reset(
    conn: &mut crate::db::Conn,
    actor: &UserInfo,
    id: i64,
) -> Result<String, AppError> {
    let user = active_user(conn, id, "have their password reset").await?;
    sqlx::query(
        "UPDATE principals SET password_hash = NULL, password_chosen = FALSE WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    super::end_sessions(conn, id).await?;
    ensure_an_admin_remains(conn).await?;
    let path = invitations::issue(conn, id).await?;
    record(conn, actor, "user.password_reset", &user.email_or_id, "").await?;
    Ok(path)
}

/// Ends every session of the user at once; their password stays.
pub async fn end_user_sessions(pool: &Pool, admin: &UserInfo, id: i64) -> Result<(), AppError> {
    let mut tx = begin_write(pool).await?;
    let user = active_user(&mut tx, id, "have their sessions ended").await?;
    super::end_sessions(&mut tx, id).await?;
    record(&mut tx, admin, "user.sessions_ended", &user.email_or_id, "").await?;
    tx.commit().await?;
    Ok(())
}

pub async fn regenerate_secret(pool: &Pool, admin: &UserInfo, id: i64) -> Result<String, AppError> {
    let mut tx = begin_write(pool).await?;
    let app = list::one(&mut tx, id).await?;
    if app.kind != PrincipalKind::Application {
        return Err(AppError::invalid(
            "principal",
            "Only applications have a client secret.",
        ));
    }
    let secret = tokens::new_secret();
    sqlx::query("UPDATE principals SET secret_digest = $1 WHERE id = $2")
        .bind(tokens::digest(&secret).to_vec())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    record(&mut tx, admin, "application.secret", &app.email_or_id, "").await?;
    tx.commit().await?;
    Ok(secret)
}
