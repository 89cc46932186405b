//! The audit log: who changed what, about whom, when (UTC), from where. Never a secret.
//! Every tab writes to it; the Users tab shows it and offers it as CSV.

#[cfg(feature = "ssr")]
pub mod chain;
mod panel;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod stream;
#[cfg(feature = "ssr")]
pub mod webhook;

pub use panel::{AuditLog, ManageStreaming, Verdict as AuditVerdict};

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const AUDIT_PAGE_SIZE: u32 = 25;
pub const EXPORT_PATH: &str = "/admin/security/audit.csv";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
    pub client_addr: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub page: u32,
    pub has_next: bool,
}

/// What checking the audit log's chain found (`chain::verify`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ChainVerdict {
    Intact {
        entries: i64,
        /// The head MAC, hex.
        head: String,
    },
    Broken {
        /// The first entry that does not verify: its sequence number (its row id when it has
        /// none).
        entry: i64,
        reason: String,
    },
}

impl std::fmt::Display for ChainVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Intact { entries, head } => write!(
                f,
                "audit chain intact: {entries} entries, head {}",
                &head[..head.len().min(16)]
            ),
            Self::Broken { entry, reason } => {
                write!(f, "audit chain broken at entry {entry}: {reason}")
            }
        }
    }
}

/// Checks the audit log's chain (tamper evidence). Admin only.
#[server(prefix = "/rpc", endpoint = "audit_verify", output = crate::wire::JsonAnswer)]
pub async fn verify_audit() -> Result<ChainVerdict, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    chain::verify_here(&mut *ctx.pool.acquire().await?).await
}

/// Where an audit streaming destination stands, for the **Audit streaming** card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStatus {
    pub name: String,
    pub address: String,
    /// The last entry (sequence number) the destination received.
    pub delivered_through: i64,
    /// Entries written since.
    pub behind_by: i64,
    pub last_delivered_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

/// The audit streaming destinations and how far each is. Admin only.
#[server(prefix = "/rpc", endpoint = "audit_streaming", output = crate::wire::JsonAnswer)]
pub async fn audit_streaming() -> Result<Vec<StreamStatus>, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    stream::status(&ctx.pool).await
}

/// A Webhook connection the audit log can stream to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookChoice {
    pub id: i64,
    pub name: String,
    pub url: String,
}

/// The Webhook connections, and the one the audit log streams to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookChoices {
    pub current: Option<i64>,
    pub webhooks: Vec<WebhookChoice>,
}

/// The Audit streaming card's picker. Admin only.
#[server(prefix = "/rpc", endpoint = "audit_stream_webhooks", output = crate::wire::JsonAnswer)]
pub async fn audit_webhook_choices() -> Result<WebhookChoices, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    webhook::choices(&ctx.pool).await
}

/// Streams the audit log to the Webhook connection with this id, or stops (empty). Admin only.
#[server(prefix = "/rpc", endpoint = "audit_stream_webhook", output = crate::wire::JsonAnswer)]
pub async fn audit_stream_webhook(connection: String) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    let id = match connection.trim() {
        "" => None,
        id => Some(id.parse::<i64>().map_err(|_| {
            AppError::BadRequest("Choose one of the Webhook connections.".to_owned())
        })?),
    };
    webhook::choose(&ctx, &admin, id).await
}

/// What an action code means, in words; unknown codes (from a newer version) show as they are.
pub fn action_label(code: &str) -> &str {
    match code {
        "auth.sign_in" => "Signed in",
        "auth.sign_in_failed" => "Sign-in failed",
        "auth.sign_out" => "Signed out",
        "principal.add" => "Added",
        "principal.role" => "Changed role",
        "principal.remove" => "Removed",
        "user.invite" => "Invited",
        "user.invitation_accepted" => "Accepted invitation",
        "application.secret" => "New client secret",
        "group.member_add" => "Added group member",
        "group.member_remove" => "Removed group member",
        "api.enable" => "Enabled the API",
        "api.disable" => "Disabled the API",
        "api.regenerate" => "Regenerated an API key",
        "api.show" => "Showed an API key",
        "api.copy" => "Copied an API key",
        "audit.export" => "Exported the audit log",
        "master_key.rotate" => "Rotated the master key",
        "audit.checkpoint" => "Checkpoint of the audit log",
        "audit.stream_configure" => "Chose where the audit log streams",
        "audit.stream_remove" => "Stopped streaming the audit log",
        "auth.sso_refused" => "Single sign-on refused",
        "sso.configure" => "Set up single sign-on",
        "sso.remove" => "Removed single sign-on",
        "sso.require" => "Required single sign-on",
        "user.break_glass" => "Marked break-glass",
        "user.break_glass_removed" => "Unmarked break-glass",
        other => other,
    }
}

/// Newest first. Admin only.
#[server(prefix = "/rpc", endpoint = "audit_list", output = crate::wire::JsonAnswer)]
pub async fn load_audit(page: u32) -> Result<AuditPage, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    if page == 0 || page > 1_000_000 {
        return Err(AppError::invalid("page", "Pages are numbered from 1."));
    }
    ssr::page(&ctx.pool, page).await
}
