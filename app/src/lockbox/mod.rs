//! Customer Lockbox: a support engineer reaches customer data only through a request that a
//! Lockbox approver approved, and only until its access period ends.
//!
//! Support tooling (an application principal) files requests over the REST API; approvers
//! decide on the tab; the REST API's support endpoints and `POST /api/v1/lockbox/check` honour
//! only live approved requests. Whether a request is live is computed from its times on every
//! read, so a request never outlives its time even when the background sweep is late.

mod panel;
mod pending_changes;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use panel::LockboxRoute;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Longest support ticket ID and justification, in characters.
pub const MAX_TICKET_CHARS: usize = 64;
pub const MAX_JUSTIFICATION_CHARS: usize = 2000;
/// How far back the Recent filter looks.
pub const RECENT_DAYS: i64 = 28;

/// A request's state as users see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LockboxStatus {
    ActionNeeded,
    Approved,
    Denied,
    Expired,
    Revoked,
}

impl LockboxStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::ActionNeeded => "Action needed",
            Self::Approved => "Approved",
            Self::Denied => "Denied",
            Self::Expired => "Expired",
            Self::Revoked => "Revoked",
        }
    }

    /// The word the REST API uses.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::ActionNeeded => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockboxPolicy {
    pub enabled: bool,
    /// 1, or 2 for the two-person rule.
    pub approvals_required: u8,
    pub request_expiry_secs: i64,
    pub access_period_secs: i64,
    /// The durations come from the server's configuration and cannot be changed on the tab.
    pub durations_fixed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approver {
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockboxOverview {
    pub policy: LockboxPolicy,
    pub approvers: Vec<Approver>,
    /// Requests waiting for a decision now.
    pub pending: i64,
    /// Whether the caller may approve and deny.
    pub can_decide: bool,
    /// Changes that weaken the two-person rule, waiting for a second approver.
    #[serde(default)]
    pub pending_changes: Vec<crate::two_person::PendingChange>,
}

/// What saving the policy did: `waiting` when the change weakens the two-person rule and waits
/// for a second Lockbox approver (`policy` is then the policy still in force).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySaved {
    pub policy: LockboxPolicy,
    pub waiting: bool,
}

/// One row of the requests list. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockboxRequestRow {
    pub id: i64,
    pub ticket: String,
    pub status: LockboxStatus,
    pub requested_at: i64,
    pub request_expires_at: i64,
    pub access_period_secs: i64,
    /// When access ends (approved requests), or ended early (revoked ones).
    pub access_ends_at: Option<i64>,
    pub approvals: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockboxEvent {
    pub at: i64,
    pub actor: Option<String>,
    pub event: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockboxRequestDetail {
    pub row: LockboxRequestRow,
    pub application: String,
    pub justification: String,
    pub engineer_name: String,
    pub engineer_email: String,
    pub access: String,
    pub by_policy: bool,
    pub approvals_required: u8,
    /// Emails of the approvers who approved so far.
    pub approved_by: Vec<String>,
    pub history: Vec<LockboxEvent>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestFilter {
    /// Waiting for a decision.
    #[default]
    Pending,
    /// Filed in the past 28 days.
    Recent,
}

impl RequestFilter {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "recent" => Some(Self::Recent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Recent => "recent",
        }
    }
}

/// "8 hours", "4 days", "90 seconds": durations as the tab shows them.
pub fn duration_label(secs: i64) -> String {
    let unit = |n: i64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => unit(s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => unit(s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => unit(s / 60, "minute"),
        s => unit(s, "second"),
    }
}

/// The tab's state: policy, approvers and how many requests wait. Admin only.
#[server(prefix = "/rpc", endpoint = "lockbox_overview", output = crate::wire::JsonAnswer)]
pub async fn load_lockbox_overview() -> Result<LockboxOverview, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::overview(&ctx, &admin).await
}

/// Pending requests, or all of the past 28 days; newest first. Admin only.
#[server(prefix = "/rpc", endpoint = "lockbox_requests", output = crate::wire::JsonAnswer)]
pub async fn lockbox_requests(filter: RequestFilter) -> Result<Vec<LockboxRequestRow>, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::list(&ctx.pool, filter).await
}

/// One request with its engineer, justification and history. Admin only.
#[server(prefix = "/rpc", endpoint = "lockbox_request", output = crate::wire::JsonAnswer)]
pub async fn lockbox_request(id: i64) -> Result<LockboxRequestDetail, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::detail(&ctx, id).await
}

/// Turns the policy on or off and sets the approvals required and, unless the server's
/// configuration fixes them, the durations. Admin only.
#[server(prefix = "/rpc", endpoint = "lockbox_policy", output = crate::wire::JsonAnswer)]
pub async fn set_lockbox_policy(
    enabled: bool,
    approvals_required: u8,
    request_expiry_secs: Option<i64>,
    access_period_secs: Option<i64>,
) -> Result<PolicySaved, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    let change = ssr::PolicyChange {
        enabled,
        approvals_required,
        request_expiry_secs,
        access_period_secs,
    };
    Ok(match ssr::set_policy(&ctx, &admin, change).await? {
        ssr::PolicyOutcome::Applied(policy) => PolicySaved {
            policy,
            waiting: false,
        },
        ssr::PolicyOutcome::Waiting(policy) => PolicySaved {
            policy,
            waiting: true,
        },
    })
}

/// Confirms a change that waits under the two-person rule, with the confirming approver's
/// password; whoever proposed it cannot. A confirmed password reset answers with the user's
/// one-time link. Admins who are Lockbox approvers only.
#[server(prefix = "/rpc", endpoint = "lockbox_change_confirm", output = crate::wire::JsonAnswer)]
pub async fn confirm_pending_change(id: i64, password: String) -> Result<Option<String>, AppError> {
    let (ctx, approver) = ssr::require_approver().await?;
    ssr::confirm_change(&ctx, &approver, id, password).await
}

/// Withdraws a change that waits under the two-person rule. Admin only.
#[server(prefix = "/rpc", endpoint = "lockbox_change_cancel", output = crate::wire::JsonAnswer)]
pub async fn cancel_pending_change(id: i64) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::cancel_change(&ctx, &admin, id).await
}

/// Approves a request; the approver confirms with their password (re-authentication before a
/// sensitive decision). Admins who are Lockbox approvers only.
#[server(prefix = "/rpc", endpoint = "lockbox_approve", output = crate::wire::JsonAnswer)]
pub async fn approve_lockbox_request(
    id: i64,
    password: String,
) -> Result<LockboxRequestDetail, AppError> {
    let (ctx, approver) = ssr::require_approver().await?;
    ssr::approve(&ctx, &approver, id, password).await
}

/// Denies a request. Admins who are Lockbox approvers only.
#[server(prefix = "/rpc", endpoint = "lockbox_deny", output = crate::wire::JsonAnswer)]
pub async fn deny_lockbox_request(id: i64) -> Result<LockboxRequestDetail, AppError> {
    let (ctx, approver) = ssr::require_approver().await?;
    ssr::deny(&ctx, &approver, id).await
}

/// Ends an approved request's access now, before its access period is over. Approvers only.
#[server(prefix = "/rpc", endpoint = "lockbox_revoke", output = crate::wire::JsonAnswer)]
pub async fn revoke_lockbox_request(id: i64) -> Result<LockboxRequestDetail, AppError> {
    let (ctx, approver) = ssr::require_approver().await?;
    ssr::revoke(&ctx, &approver, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_largest_whole_unit() {
        assert_eq!(duration_label(4 * 86_400), "4 days");
        assert_eq!(duration_label(8 * 3_600), "8 hours");
        assert_eq!(duration_label(3_600), "1 hour");
        assert_eq!(duration_label(90), "90 seconds");
        assert_eq!(duration_label(120), "2 minutes");
    }

    #[test]
    fn filters_round_trip() {
        for f in [RequestFilter::Pending, RequestFilter::Recent] {
            assert_eq!(RequestFilter::parse(f.as_str()), Some(f));
        }
        assert_eq!(RequestFilter::parse("all"), None);
    }
}
