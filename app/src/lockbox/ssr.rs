//! Lockbox storage and rules. Every decision runs in one write transaction with its history
//! and audit rows, so that two approvers deciding at the same moment are serialised: one wins,
//! the other is told the request was decided already.

use super::settings::LockboxSettings;
use super::{
    Approver, LockboxEvent, LockboxOverview, LockboxPolicy, LockboxRequestDetail,
    LockboxRequestRow, LockboxStatus, MAX_JUSTIFICATION_CHARS, MAX_TICKET_CHARS, RECENT_DAYS,
    RequestFilter,
};
use crate::db::Flag;
use crate::db::{Conn, Pool};
use crate::{
    audit::ssr::{self as audit, Entry},
    auth::ssr::{client_addr, confirm_password, require},
    context::AppContext,
    db::begin_write,
    error::AppError,
    roles::{Role, UserInfo},
    time_fmt::unix_now,
    two_person::ssr::{self as two_person, Proposal},
    users::{
        Email,
        ssr::{applications::Application, changes as user_changes},
    },
};

/// A Lockbox approver's password, typed again to decide, and what is said when it is wrong.
const WRONG_PASSWORD: (&str, &str) = ("password", "The password is not correct.");

/// Longest request expiry and access period that may be set: a year.
const MAX_DURATION_SECS: i64 = 365 * 86_400;

/// The guard for decisions: an Admin who is also a Lockbox approver.
pub async fn require_approver() -> Result<(AppContext, UserInfo), AppError> {
    let user = require(Role::Admin).await?;
    let ctx = crate::context::context()?;
    if !user.lockbox_approver {
        return Err(AppError::NotPermitted(
            "Only Lockbox approvers can approve, deny or revoke requests.".into(),
        ));
    }
    Ok((ctx, user))
}

/// A request's stored status (`lockbox_requests.status`), mapped to and from its word here
/// and nowhere else. What the tab and the API show is [`effective_status`]'s, which also reads
/// the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    Pending,
    Approved,
    Denied,
    Expired,
    Revoked,
}

impl Stored {
    const ALL: [Self; 5] = [
        Self::Pending,
        Self::Approved,
        Self::Denied,
        Self::Expired,
        Self::Revoked,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    fn parse(word: &str) -> Result<Self, AppError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == word)
            .ok_or_else(|| AppError::internal(format!("unknown Lockbox status {word:?} stored")))
    }
}

/// What a stored row says, judged against the clock: a pending request past its expiry is
/// Expired, and so is an approved one whose access has ended, whether or not the sweep has
/// written that down yet.
pub fn effective_status(
    stored: Stored,
    now: i64,
    request_expires_at: i64,
    access_ends_at: Option<i64>,
) -> LockboxStatus {
    match stored {
        Stored::Pending if now < request_expires_at => LockboxStatus::ActionNeeded,
        Stored::Approved if access_ends_at.is_some_and(|end| now < end) => LockboxStatus::Approved,
        Stored::Denied => LockboxStatus::Denied,
        Stored::Revoked => LockboxStatus::Revoked,
        Stored::Pending | Stored::Approved | Stored::Expired => LockboxStatus::Expired,
    }
}

async fn policy_on(conn: &mut Conn, settings: LockboxSettings) -> Result<LockboxPolicy, AppError> {
    let (Flag(enabled), approvals, expiry, period): (Flag, i64, i64, i64) = sqlx::query_as(
        "SELECT enabled, approvals_required, request_expiry_secs, access_period_secs \
         FROM lockbox_policy WHERE id = 1",
    )
    .fetch_one(conn)
    .await?;
    Ok(LockboxPolicy {
        enabled,
        approvals_required: if approvals >= 2 { 2 } else { 1 },
        request_expiry_secs: settings.request_expiry_secs.unwrap_or(expiry),
        access_period_secs: settings.access_period_secs.unwrap_or(period),
        durations_fixed: settings.request_expiry_secs.is_some()
            || settings.access_period_secs.is_some(),
    })
}

pub async fn policy(ctx: &AppContext) -> Result<LockboxPolicy, AppError> {
    let mut conn = ctx.pool.acquire().await?;
    policy_on(&mut conn, ctx.lockbox).await
}

/// Requests waiting for a decision now.
pub async fn pending_count(pool: &Pool) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM lockbox_requests WHERE status = $1 AND request_expires_at > $2",
    )
    .bind(Stored::Pending.as_str())
    .bind(unix_now())
    .fetch_one(pool)
    .await?)
}

pub async fn overview(ctx: &AppContext, caller: &UserInfo) -> Result<LockboxOverview, AppError> {
    let approvers: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, handle FROM principals \
         WHERE kind = 'user' AND lockbox_approver = TRUE AND password_hash IS NOT NULL ORDER BY name",
    )
    .fetch_all(&ctx.pool)
    .await?;
    Ok(LockboxOverview {
        policy: policy(ctx).await?,
        approvers: approvers
            .into_iter()
            .map(|(name, email)| Approver { name, email })
            .collect(),
        pending: pending_count(&ctx.pool).await?,
        can_decide: caller.lockbox_approver && caller.role == Role::Admin,
        pending_changes: two_person::pending(&mut *ctx.pool.acquire().await?, caller).await?,
    })
}

const ROW_COLUMNS: &str = "SELECT id, ticket, status, requested_at, request_expires_at, \
     access_period_secs, access_ends_at, \
     (SELECT count(*) FROM lockbox_approvals a WHERE a.request_id = r.id) AS approvals \
     FROM lockbox_requests r";

type RawRow = (i64, String, String, i64, i64, i64, Option<i64>, i64);

fn row(raw: RawRow, now: i64) -> Result<LockboxRequestRow, AppError> {
    let (id, ticket, status, requested_at, request_expires_at, period, access_ends_at, approvals) =
        raw;
    let stored = Stored::parse(&status)?;
    Ok(LockboxRequestRow {
        id,
        ticket,
        status: effective_status(stored, now, request_expires_at, access_ends_at),
        requested_at,
        request_expires_at,
        access_period_secs: period,
        access_ends_at,
        approvals: approvals.clamp(0, 2) as u8,
    })
}

pub async fn list(pool: &Pool, filter: RequestFilter) -> Result<Vec<LockboxRequestRow>, AppError> {
    let now = unix_now();
    let rows: Vec<RawRow> = match filter {
        RequestFilter::Pending => {
            sqlx::query_as(&format!(
                "{ROW_COLUMNS} WHERE status = $1 AND request_expires_at > $2 \
                 ORDER BY requested_at DESC, id DESC LIMIT 500"
            ))
            .bind(Stored::Pending.as_str())
            .bind(now)
            .fetch_all(pool)
            .await?
        }
        RequestFilter::Recent => sqlx::query_as(&format!(
            "{ROW_COLUMNS} WHERE requested_at >= $1 ORDER BY requested_at DESC, id DESC LIMIT 500"
        ))
        .bind(now - RECENT_DAYS * 86_400)
        .fetch_all(pool)
        .await?,
    };
    rows.into_iter().map(|r| row(r, now)).collect()
}

async fn row_on(conn: &mut Conn, id: i64, now: i64) -> Result<LockboxRequestRow, AppError> {
    let raw: Option<RawRow> = sqlx::query_as(&format!("{ROW_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row(raw.ok_or(AppError::NotFound)?, now)
}

async fn detail_on(
    conn: &mut Conn,
    settings: LockboxSettings,
    id: i64,
) -> Result<LockboxRequestDetail, AppError> {
    let now = unix_now();
    let row = row_on(conn, id, now).await?;
    let (application, justification, engineer_name, engineer_email, access, Flag(by_policy)): (
        String,
        String,
        String,
        String,
        String,
        Flag,
    ) = sqlx::query_as(
        "SELECT application_name, justification, engineer_name, engineer_email, access, by_policy \
         FROM lockbox_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let approved_by: Vec<String> = sqlx::query_scalar(
        "SELECT approver_email FROM lockbox_approvals WHERE request_id = $1 ORDER BY decided_at, approver_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let history: Vec<(i64, Option<String>, String, String)> = sqlx::query_as(
        "SELECT at, actor, event, detail FROM lockbox_events WHERE request_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let policy = policy_on(conn, settings).await?;
    Ok(LockboxRequestDetail {
        row,
        application,
        justification,
        engineer_name,
        engineer_email,
        access,
        by_policy,
        approvals_required: policy.approvals_required,
        approved_by,
        history: history
            .into_iter()
            .map(|(at, actor, event, detail)| LockboxEvent {
                at,
                actor,
                event,
                detail,
            })
            .collect(),
    })
}

pub async fn detail(ctx: &AppContext, id: i64) -> Result<LockboxRequestDetail, AppError> {
    let mut conn = ctx.pool.acquire().await?;
    detail_on(&mut conn, ctx.lockbox, id).await
}

async fn event(
    conn: &mut Conn,
    id: i64,
    actor: Option<&str>,
    event: &str,
    detail: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO lockbox_events (request_id, at, actor, event, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(unix_now())
    .bind(actor)
    .bind(event)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// Who made a Lockbox change and from where, for its audit row. The REST API passes the
/// client it resolved; a server function's is read from its request.
#[derive(Clone, Copy)]
struct By<'a> {
    actor: Option<&'a UserInfo>,
    client: Option<&'a str>,
}

/// The clock itself (the expiry sweep).
const NOBODY: By<'static> = By {
    actor: None,
    client: None,
};

/// The audit row of a lockbox change: the request ID and ticket as the target.
async fn audit_row(
    conn: &mut Conn,
    by: By<'_>,
    action: &str,
    id: i64,
    ticket: &str,
    detail: &str,
) -> Result<(), AppError> {
    audit::record(
        conn,
        Entry {
            actor: by.actor,
            action,
            target: Some(&format!("request {id} (ticket {ticket})")),
            detail,
            client_addr: by.client,
        },
    )
    .await
}

pub struct PolicyChange {
    pub enabled: bool,
    pub approvals_required: u8,
    pub request_expiry_secs: Option<i64>,
    pub access_period_secs: Option<i64>,
}

fn check_duration(field: &str, secs: Option<i64>) -> Result<(), AppError> {
    match secs {
        Some(s) if !(60..=MAX_DURATION_SECS).contains(&s) => Err(AppError::invalid(
            field,
            "Choose a duration from 1 minute to 365 days.",
        )),
        _ => Ok(()),
    }
}

/// What Save on the policy card did: applied, or (a change that weakens the two-person rule
/// while it is in force) waiting for a second approver.
pub enum PolicyOutcome {
    Applied(LockboxPolicy),
    Waiting(LockboxPolicy),
}

pub async fn set_policy(
    ctx: &AppContext,
    admin: &UserInfo,
    change: PolicyChange,
) -> Result<PolicyOutcome, AppError> {
    if !(1..=2).contains(&change.approvals_required) {
        return Err(AppError::invalid(
            "approvals_required",
            "Approvals required is 1, or 2 for the two-person rule.",
        ));
    }
    check_duration("request_expiry", change.request_expiry_secs)?;
    check_duration("access_period", change.access_period_secs)?;
    let mut tx = begin_write(&ctx.pool).await?;
    let before = policy_on(&mut tx, ctx.lockbox).await?;
    let weakens = (before.enabled && !change.enabled)
        || (before.approvals_required >= 2 && change.approvals_required < 2);
    if weakens && two_person::in_force(&mut tx).await? {
        let summary = if before.enabled && !change.enabled {
            "Turn Customer Lockbox off".to_owned()
        } else {
            "Lower Approvals required to 1 (end the two-person rule)".to_owned()
        };
        let proposal = Proposal::Policy {
            enabled: change.enabled,
            approvals_required: change.approvals_required,
            request_expiry_secs: change.request_expiry_secs,
            access_period_secs: change.access_period_secs,
        };
        two_person::propose(&mut tx, admin, proposal, &summary).await?;
        tx.commit().await?;
        return Ok(PolicyOutcome::Waiting(before));
    }
    let client = client_addr();
    let by = By {
        actor: Some(admin),
        client: client.as_deref(),
    };
    let after = apply_policy(&mut tx, ctx, by, &change).await?;
    tx.commit().await?;
    Ok(PolicyOutcome::Applied(after))
}

/// Writes a policy change, in the caller's transaction. Turning the policy on ends the access
/// that was approved by policy while it was off: that access had no approver.
async fn apply_policy(
    conn: &mut Conn,
    ctx: &AppContext,
    by: By<'_>,
    change: &PolicyChange,
) -> Result<LockboxPolicy, AppError> {
    let before = policy_on(conn, ctx.lockbox).await?;
    let fixed = before.durations_fixed;
    let now = unix_now();
    sqlx::query(
        "UPDATE lockbox_policy SET enabled = $1, approvals_required = $2, \
         request_expiry_secs = coalesce($3, request_expiry_secs), \
         access_period_secs = coalesce($4, access_period_secs), updated_at = $5 WHERE id = 1",
    )
    .bind(change.enabled)
    .bind(i64::from(change.approvals_required))
    .bind(change.request_expiry_secs.filter(|_| !fixed))
    .bind(change.access_period_secs.filter(|_| !fixed))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let after = policy_on(conn, ctx.lockbox).await?;
    audit::record(
        conn,
        Entry {
            actor: by.actor,
            action: "lockbox.policy",
            target: Some("Customer Lockbox"),
            detail: &format!(
                "{} approvals_required={} request_expiry={}s access_period={}s",
                if after.enabled { "on" } else { "off" },
                after.approvals_required,
                after.request_expiry_secs,
                after.access_period_secs
            ),
            client_addr: by.client,
        },
    )
    .await?;
    if !before.enabled && after.enabled {
        let ended: Vec<(i64, String)> = sqlx::query_as(
            "UPDATE lockbox_requests SET status = $1, access_ends_at = $2 \
             WHERE status = $3 AND by_policy = TRUE AND access_ends_at > $4 \
             RETURNING id, ticket",
        )
        .bind(Stored::Revoked.as_str())
        .bind(now)
        .bind(Stored::Approved.as_str())
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
        let actor = by.actor.map(|a| a.email.as_str());
        for (id, ticket) in &ended {
            let why = "Customer Lockbox was turned on: access approved by policy ended";
            event(conn, *id, actor, "Access revoked", why).await?;
            audit_row(conn, by, "lockbox.revoke", *id, ticket, why).await?;
        }
    }
    Ok(after)
}

/// Confirms a change that waits for a second approver, who enters their password as for a
/// request, and applies it in the same transaction. A confirmed password reset returns the
/// user's one-time link, shown to the confirming approver.
pub async fn confirm_change(
    ctx: &AppContext,
    approver: &UserInfo,
    id: i64,
    password: String,
) -> Result<Option<String>, AppError> {
    let check = (&ctx.pool, &ctx.password_throttle);
    confirm_password(check, approver, password, WRONG_PASSWORD).await?;
    let client = client_addr();
    let by = By {
        actor: Some(approver),
        client: client.as_deref(),
    };
    let mut tx = begin_write(&ctx.pool).await?;
    let link = match two_person::take(&mut tx, id, approver).await? {
        Proposal::Policy {
            enabled,
            approvals_required,
            request_expiry_secs,
            access_period_secs,
        } => {
            let change = PolicyChange {
                enabled,
                approvals_required,
                request_expiry_secs,
                access_period_secs,
            };
            apply_policy(&mut tx, ctx, by, &change).await?;
            None
        }
        Proposal::GrantApprover { user_id } => {
            user_changes::grant_approver(&mut tx, approver, user_id, true).await?;
            None
        }
        Proposal::ResetPassword { user_id } => {
            Some(user_changes::apply_password_reset(&mut tx, approver, user_id).await?)
        }
    };
    tx.commit().await?;
    Ok(link)
}

/// Withdraws a change that waits for a second approver; nothing of it applies.
pub async fn cancel_change(ctx: &AppContext, admin: &UserInfo, id: i64) -> Result<(), AppError> {
    let mut tx = begin_write(&ctx.pool).await?;
    two_person::cancel(&mut tx, id, admin).await?;
    tx.commit().await?;
    Ok(())
}

/// Refuses a decision on a request that is no longer waiting for one, saying why.
fn must_be_pending(status: LockboxStatus) -> Result<(), AppError> {
    match status {
        LockboxStatus::ActionNeeded => Ok(()),
        LockboxStatus::Expired => Err(AppError::Conflict(
            "This request expired before anyone answered it.".into(),
        )),
        other => Err(AppError::Conflict(format!(
            "This request was decided already: it is {}.",
            other.label()
        ))),
    }
}

pub async fn approve(
    ctx: &AppContext,
    approver: &UserInfo,
    id: i64,
    password: String,
) -> Result<LockboxRequestDetail, AppError> {
    if password.is_empty() {
        return Err(AppError::invalid(
            "password",
            "Enter your password to approve.",
        ));
    }
    // Whoever holds this session must also know the password. Checked before the
    // transaction, as it is slow on purpose.
    let check = (&ctx.pool, &ctx.password_throttle);
    confirm_password(check, approver, password, WRONG_PASSWORD).await?;
    let now = unix_now();
    let mut tx = begin_write(&ctx.pool).await?;
    let row = row_on(&mut tx, id, now).await?;
    must_be_pending(row.status)?;
    let inserted = sqlx::query(
        "INSERT INTO lockbox_approvals (request_id, approver_id, approver_email, decided_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(approver.id)
    .bind(&approver.email)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::Conflict(
            "You approved this request already; a second approver must approve it too.".into(),
        ));
    }
    let policy = policy_on(&mut tx, ctx.lockbox).await?;
    let approvals = i64::from(row.approvals) + 1;
    let complete = approvals >= i64::from(policy.approvals_required);
    if complete {
        sqlx::query(
            "UPDATE lockbox_requests SET status = $1, decided_at = $2, \
             access_ends_at = $3 + access_period_secs WHERE id = $4",
        )
        .bind(Stored::Approved.as_str())
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let step = format!("{approvals} of {}", policy.approvals_required);
    let event_name = if complete {
        "Approved"
    } else {
        "Approval recorded"
    };
    let decision = Decision {
        approver,
        id,
        ticket: &row.ticket,
        event: event_name,
        action: "lockbox.approve",
        detail: &step,
    };
    conclude(tx, ctx, decision).await
}

/// What an approver did, for the request's history and the audit log.
struct Decision<'a> {
    approver: &'a UserInfo,
    id: i64,
    ticket: &'a str,
    event: &'a str,
    action: &'a str,
    detail: &'a str,
}

/// Writes a decision's history and audit rows in its transaction, commits, and returns the
/// request as it now stands.
async fn conclude(
    mut tx: crate::db::Tx,
    ctx: &AppContext,
    d: Decision<'_>,
) -> Result<LockboxRequestDetail, AppError> {
    event(&mut tx, d.id, Some(&d.approver.email), d.event, d.detail).await?;
    let client = client_addr();
    let by = By {
        actor: Some(d.approver),
        client: client.as_deref(),
    };
    audit_row(&mut tx, by, d.action, d.id, d.ticket, d.detail).await?;
    let detail = detail_on(&mut tx, ctx.lockbox, d.id).await?;
    tx.commit().await?;
    Ok(detail)
}

pub async fn deny(
    ctx: &AppContext,
    approver: &UserInfo,
    id: i64,
) -> Result<LockboxRequestDetail, AppError> {
    let now = unix_now();
    let mut tx = begin_write(&ctx.pool).await?;
    let row = row_on(&mut tx, id, now).await?;
    must_be_pending(row.status)?;
    sqlx::query("UPDATE lockbox_requests SET status = $1, decided_at = $2 WHERE id = $3")
        .bind(Stored::Denied.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let decision = Decision {
        approver,
        id,
        ticket: &row.ticket,
        event: "Denied",
        action: "lockbox.deny",
        detail: "",
    };
    conclude(tx, ctx, decision).await
}

pub async fn revoke(
    ctx: &AppContext,
    approver: &UserInfo,
    id: i64,
) -> Result<LockboxRequestDetail, AppError> {
    let now = unix_now();
    let mut tx = begin_write(&ctx.pool).await?;
    let row = row_on(&mut tx, id, now).await?;
    if row.status != LockboxStatus::Approved {
        return Err(AppError::Conflict(format!(
            "Only live approved access can be revoked; this request is {}.",
            row.status.label()
        )));
    }
    sqlx::query("UPDATE lockbox_requests SET status = $1, access_ends_at = $2 WHERE id = $3")
        .bind(Stored::Revoked.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    event(&mut tx, id, Some(&approver.email), "Access revoked", "").await?;
    let client = client_addr();
    let by = By {
        actor: Some(approver),
        client: client.as_deref(),
    };
    audit_row(&mut tx, by, "lockbox.revoke", id, &row.ticket, "").await?;
    let detail = detail_on(&mut tx, ctx.lockbox, id).await?;
    tx.commit().await?;
    Ok(detail)
}

/// A request as support tooling files it.
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub ticket: String,
    pub justification: String,
    pub engineer_name: String,
    pub engineer_email: String,
    pub access: String,
    pub access_period_secs: Option<i64>,
}

fn text(field: &str, label: &str, value: &str, max: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid(field, format!("{label} is required.")));
    }
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{label} has at most {max} characters."),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AppError::invalid(
            field,
            format!("{label} contains control characters."),
        ));
    }
    Ok(value.to_owned())
}

/// Refuses an application that is not marked Support application on the Users tab: only
/// those may file requests and read customer data, whatever their role.
pub fn require_support(app: &Application) -> Result<(), AppError> {
    if app.support {
        Ok(())
    } else {
        Err(AppError::NotPermitted(
            "Only applications marked Support application on the Users tab may file Customer Lockbox requests and read customer data.".into(),
        ))
    }
}

/// Files a request. With the policy off it is approved at once, by policy. `client` is the
/// caller's address as the REST API resolved it.
pub async fn file(
    ctx: &AppContext,
    app: &Application,
    client: Option<&str>,
    new: NewRequest,
) -> Result<LockboxRequestDetail, AppError> {
    require_support(app)?;
    let ticket = text(
        "ticket",
        "The support ticket ID",
        &new.ticket,
        MAX_TICKET_CHARS,
    )?;
    let justification = text(
        "justification",
        "The justification",
        &new.justification,
        MAX_JUSTIFICATION_CHARS,
    )?;
    let engineer_name = text(
        "engineer.name",
        "The engineer's name",
        &new.engineer_name,
        200,
    )?;
    let engineer_email = Email::parse(&new.engineer_email)
        .map_err(|e| AppError::invalid("engineer.email", e.to_string()))?;
    if new.access != "read" {
        return Err(AppError::invalid(
            "access",
            "Only read access (\"read\") can be requested.",
        ));
    }
    let mut tx = begin_write(&ctx.pool).await?;
    let policy = policy_on(&mut tx, ctx.lockbox).await?;
    let period = match new.access_period_secs {
        None => policy.access_period_secs,
        Some(p) if p > 0 && p <= policy.access_period_secs => p,
        Some(_) => {
            return Err(AppError::invalid(
                "accessPeriodSeconds",
                format!(
                    "The access period is at most the policy's {} ({} seconds).",
                    super::duration_label(policy.access_period_secs),
                    policy.access_period_secs
                ),
            ));
        }
    };
    let now = unix_now();
    let by_policy = !policy.enabled;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO lockbox_requests (application_id, application_name, ticket, justification, \
         engineer_name, engineer_email, access, access_period_secs, requested_at, \
         request_expires_at, status, by_policy, decided_at, access_ends_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'read', $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(app.id)
    .bind(&app.name)
    .bind(&ticket)
    .bind(&justification)
    .bind(&engineer_name)
    .bind(engineer_email.as_str())
    .bind(period)
    .bind(now)
    .bind(now + policy.request_expiry_secs)
    .bind(
        if by_policy {
            Stored::Approved
        } else {
            Stored::Pending
        }
        .as_str(),
    )
    .bind(by_policy)
    .bind(by_policy.then_some(now))
    .bind(by_policy.then_some(now + period))
    .fetch_one(&mut *tx)
    .await?;
    let actor = app.as_actor();
    let by = By {
        actor: Some(&actor),
        client,
    };
    event(
        &mut tx,
        id,
        Some(&app.client_id),
        "Requested",
        &format!("by {engineer_name} <{}>", engineer_email.as_str()),
    )
    .await?;
    audit_row(&mut tx, by, "lockbox.request", id, &ticket, &justification).await?;
    if by_policy {
        event(
            &mut tx,
            id,
            None,
            "Approved by policy",
            "Customer Lockbox is off",
        )
        .await?;
        let by_policy = By {
            actor: None,
            client,
        };
        audit_row(
            &mut tx,
            by_policy,
            "lockbox.approve",
            id,
            &ticket,
            "by policy: Customer Lockbox is off",
        )
        .await?;
    }
    let detail = detail_on(&mut tx, ctx.lockbox, id).await?;
    tx.commit().await?;
    Ok(detail)
}

/// A request as the application that filed it may see it; another application's is refused.
pub async fn for_application(
    ctx: &AppContext,
    app: &Application,
    id: i64,
) -> Result<LockboxRequestDetail, AppError> {
    let owner: Option<Option<i64>> =
        sqlx::query_scalar("SELECT application_id FROM lockbox_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&ctx.pool)
            .await?;
    match owner {
        None => Err(AppError::NotFound),
        Some(Some(owner)) if owner == app.id => detail(ctx, id).await,
        Some(_) => Err(AppError::NotPermitted(
            "This request was filed by another application.".into(),
        )),
    }
}

/// Whether a Lockbox request grants access now.
#[derive(Debug, PartialEq, Eq)]
pub enum LiveAccess {
    /// Approved, its window open: the request's ticket, and when access ends (Unix seconds).
    Live { ticket: String, ends: i64 },
    /// Why not, in words for the caller.
    Refused(String),
}

/// Live access: the request is approved, its window open, and (when `application` is given)
/// it was filed by that application.
pub async fn live_access(
    pool: &Pool,
    id: i64,
    application: Option<i64>,
) -> Result<LiveAccess, AppError> {
    /// Who filed it, ticket, stored status, request expiry, access end.
    type Live = (Option<i64>, String, String, i64, Option<i64>);
    let row: Option<Live> = sqlx::query_as(
        "SELECT application_id, ticket, status, request_expires_at, access_ends_at \
         FROM lockbox_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some((owner, ticket, stored, expires, ends)) = row else {
        return Ok(LiveAccess::Refused(format!(
            "There is no Lockbox request {id}."
        )));
    };
    if application.is_some_and(|app| owner != Some(app)) {
        return Ok(LiveAccess::Refused(format!(
            "Lockbox request {id} was filed by another application."
        )));
    }
    Ok(
        match effective_status(Stored::parse(&stored)?, unix_now(), expires, ends) {
            LockboxStatus::Approved => LiveAccess::Live {
                ticket,
                ends: ends.unwrap_or_default(),
            },
            LockboxStatus::ActionNeeded => {
                LiveAccess::Refused(format!("Lockbox request {id} is waiting for approval."))
            }
            LockboxStatus::Denied => {
                LiveAccess::Refused(format!("Lockbox request {id} was denied."))
            }
            LockboxStatus::Revoked => {
                LiveAccess::Refused(format!("Access for Lockbox request {id} was revoked."))
            }
            LockboxStatus::Expired => {
                LiveAccess::Refused(format!("Lockbox request {id} has expired."))
            }
        },
    )
}

/// Records one use of approved access (the support endpoints), with the request and ticket.
pub async fn record_access(
    pool: &Pool,
    app: &Application,
    client: Option<&str>,
    access: (i64, &str),
    what: &str,
) -> Result<(), AppError> {
    let (id, ticket) = access;
    let mut conn = pool.acquire().await?;
    let actor = app.as_actor();
    let by = By {
        actor: Some(&actor),
        client,
    };
    event(&mut conn, id, Some(&app.client_id), "Accessed", what).await?;
    audit_row(&mut conn, by, "lockbox.access", id, ticket, what).await
}

/// Writes down what the clock already decided: pending requests past their expiry and approved
/// access past its end become Expired, with history and audit rows. Reads never wait for this.
pub async fn sweep(pool: &Pool) -> Result<usize, AppError> {
    let now = unix_now();
    let mut tx = begin_write(pool).await?;
    let unanswered: Vec<(i64, String)> = sqlx::query_as(
        "UPDATE lockbox_requests SET status = $1 \
         WHERE status = $2 AND request_expires_at <= $3 RETURNING id, ticket",
    )
    .bind(Stored::Expired.as_str())
    .bind(Stored::Pending.as_str())
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let ended: Vec<(i64, String)> = sqlx::query_as(
        "UPDATE lockbox_requests SET status = $1 \
         WHERE status = $2 AND access_ends_at <= $3 RETURNING id, ticket",
    )
    .bind(Stored::Expired.as_str())
    .bind(Stored::Approved.as_str())
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    for (id, ticket) in &unanswered {
        event(&mut tx, *id, None, "Expired", "nobody answered in time").await?;
        audit_row(&mut tx, NOBODY, "lockbox.expire", *id, ticket, "unanswered").await?;
    }
    for (id, ticket) in &ended {
        event(
            &mut tx,
            *id,
            None,
            "Access ended",
            "the access period is over",
        )
        .await?;
        audit_row(
            &mut tx,
            NOBODY,
            "lockbox.expire",
            *id,
            ticket,
            "access period over",
        )
        .await?;
    }
    tx.commit().await?;
    Ok(unanswered.len() + ended.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_decides_over_the_stored_status() {
        let s = |stored: &str, now, ends| {
            effective_status(Stored::parse(stored).unwrap(), now, 100, ends)
        };
        assert_eq!(s("pending", 99, None), LockboxStatus::ActionNeeded);
        assert_eq!(s("pending", 100, None), LockboxStatus::Expired);
        assert_eq!(s("approved", 150, Some(200)), LockboxStatus::Approved);
        assert_eq!(s("approved", 200, Some(200)), LockboxStatus::Expired);
        assert_eq!(s("denied", 0, None), LockboxStatus::Denied);
        assert_eq!(s("revoked", 0, Some(10)), LockboxStatus::Revoked);
        assert_eq!(s("expired", 0, None), LockboxStatus::Expired);
    }

    #[test]
    fn every_stored_status_reads_back_and_no_other_word_does() {
        for stored in Stored::ALL {
            assert_eq!(Stored::parse(stored.as_str()).unwrap(), stored);
        }
        assert!(Stored::parse("Pending").is_err());
    }
}
