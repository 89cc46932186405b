//! Storage of pending changes (migration 0013): proposed in the proposer's transaction, taken
//! once by a second approver in theirs.

use super::PendingChange;
use crate::db::Conn;
use crate::db::Flag;
use crate::{
    audit::ssr::{self as audit, Entry},
    auth::ssr::client_addr,
    error::AppError,
    roles::UserInfo,
    time_fmt::unix_now,
};
use serde::{Deserialize, Serialize};

/// What a pending change will do once confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Proposal {
    Policy {
        enabled: bool,
        approvals_required: u8,
        request_expiry_secs: Option<i64>,
        access_period_secs: Option<i64>,
    },
    GrantApprover {
        user_id: i64,
    },
    ResetPassword {
        user_id: i64,
    },
}

impl Proposal {
    /// The user the change is about, if any (a column of its own, so that the Users list can
    /// mark an approver waiting for confirmation without reading JSON).
    fn user_id(&self) -> Option<i64> {
        match self {
            Self::Policy { .. } => None,
            Self::GrantApprover { user_id } | Self::ResetPassword { user_id } => Some(*user_id),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Policy { .. } => "policy",
            Self::GrantApprover { .. } => "grant_approver",
            Self::ResetPassword { .. } => "reset_password",
        }
    }
}

/// A pending change's stored status (`lockbox_pending_changes.status`), mapped to and from
/// its word here and nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeStatus {
    /// Waiting for a second approver.
    Pending,
    Confirmed,
    Cancelled,
}

impl ChangeStatus {
    const ALL: [Self; 3] = [Self::Pending, Self::Confirmed, Self::Cancelled];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(word: &str) -> Result<Self, AppError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == word)
            .ok_or_else(|| AppError::internal(format!("unknown change status {word:?} stored")))
    }
}

/// Whether the two-person rule is in force: Approvals required is 2.
pub async fn in_force(conn: &mut Conn) -> Result<bool, AppError> {
    let two: Option<Flag> =
        sqlx::query_scalar("SELECT approvals_required >= 2 FROM lockbox_policy WHERE id = 1")
            .fetch_optional(conn)
            .await?;
    Ok(two.is_some_and(bool::from))
}

async fn audit_row(
    conn: &mut Conn,
    actor: &UserInfo,
    action: &str,
    summary: &str,
    detail: &str,
) -> Result<(), AppError> {
    let client = client_addr();
    audit::record(
        conn,
        Entry {
            actor: Some(actor),
            action,
            target: Some(summary),
            detail,
            client_addr: client.as_deref(),
        },
    )
    .await
}

/// Records `proposal` as waiting for a second approver (audited `lockbox.change_proposed`).
/// The same change proposed again while it waits is the same pending change.
pub async fn propose(
    conn: &mut Conn,
    by: &UserInfo,
    proposal: Proposal,
    summary: &str,
) -> Result<i64, AppError> {
    let payload = serde_json::to_string(&proposal).map_err(AppError::internal)?;
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM lockbox_pending_changes WHERE status = $1 AND payload = $2",
    )
    .bind(ChangeStatus::Pending.as_str())
    .bind(&payload)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO lockbox_pending_changes \
         (kind, payload, summary, proposed_by, proposed_by_email, proposed_at, user_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(proposal.kind())
    .bind(&payload)
    .bind(summary)
    .bind(by.id)
    .bind(&by.email)
    .bind(unix_now())
    .bind(proposal.user_id())
    .fetch_one(&mut *conn)
    .await?;
    audit_row(
        conn,
        by,
        "lockbox.change_proposed",
        summary,
        "waiting for a second Lockbox approver",
    )
    .await?;
    Ok(id)
}

/// The changes waiting now, oldest first; `caller` marks their own.
pub async fn pending(conn: &mut Conn, caller: &UserInfo) -> Result<Vec<PendingChange>, AppError> {
    let rows: Vec<(i64, String, i64, String, i64)> = sqlx::query_as(
        "SELECT id, summary, proposed_by, proposed_by_email, proposed_at \
         FROM lockbox_pending_changes WHERE status = $1 ORDER BY id LIMIT 100",
    )
    .bind(ChangeStatus::Pending.as_str())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, summary, by, proposed_by, proposed_at)| PendingChange {
                id,
                summary,
                proposed_by,
                proposed_at,
                mine: by == caller.id,
            },
        )
        .collect())
}

/// A waiting change, by id, with who proposed it.
async fn waiting(conn: &mut Conn, id: i64) -> Result<(Proposal, String, i64), AppError> {
    let row: Option<(String, String, i64, String)> = sqlx::query_as(
        "SELECT payload, summary, proposed_by, status FROM lockbox_pending_changes WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (payload, summary, by, status) = row.ok_or(AppError::NotFound)?;
    match ChangeStatus::parse(&status)? {
        ChangeStatus::Pending => {}
        done => {
            return Err(AppError::Conflict(format!(
                "This change was {} already.",
                done.as_str()
            )));
        }
    }
    let proposal = serde_json::from_str(&payload).map_err(AppError::internal)?;
    Ok((proposal, summary, by))
}

async fn conclude(
    conn: &mut Conn,
    id: i64,
    status: ChangeStatus,
    by: &UserInfo,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE lockbox_pending_changes SET status = $1, decided_by_email = $2, decided_at = $3 \
         WHERE id = $4",
    )
    .bind(status.as_str())
    .bind(&by.email)
    .bind(unix_now())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a waiting change for `confirmer` to apply in the same transaction (audited
/// `lockbox.change_confirmed`). Whoever proposed it cannot confirm it.
pub async fn take(conn: &mut Conn, id: i64, confirmer: &UserInfo) -> Result<Proposal, AppError> {
    let (proposal, summary, by) = waiting(conn, id).await?;
    if by == confirmer.id {
        return Err(AppError::NotPermitted(
            "You proposed this change: a second Lockbox approver must confirm it.".into(),
        ));
    }
    conclude(conn, id, ChangeStatus::Confirmed, confirmer).await?;
    audit_row(conn, confirmer, "lockbox.change_confirmed", &summary, "").await?;
    Ok(proposal)
}

/// Withdraws a waiting change (audited `lockbox.change_cancelled`): nothing is applied.
pub async fn cancel(conn: &mut Conn, id: i64, by: &UserInfo) -> Result<(), AppError> {
    let (_, summary, _) = waiting(conn, id).await?;
    conclude(conn, id, ChangeStatus::Cancelled, by).await?;
    audit_row(conn, by, "lockbox.change_cancelled", &summary, "").await
}
