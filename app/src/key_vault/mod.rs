//! Key Vault: the organisation's own secret store, linked so that the credentials of this
//! environment's connections stay inside its compliance boundary.
//!
//! Two backends: HashiCorp Vault / OpenBao (KV version 2, token or AppRole) and Azure Key Vault
//! (Microsoft Entra client credentials). Gatehouse only lists and reads secrets; it never writes
//! or deletes one. A link is saved only after a check of the values as entered has passed, and a
//! background check keeps its status current (the Security page shows a banner while it fails).

mod panel;
#[cfg(feature = "ssr")]
pub mod runtime;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use panel::KeyVaultRoute;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Longest address, and longest credential (a token, secret ID or client secret), in characters.
pub const MAX_ADDRESS_CHARS: usize = 2048;
pub const MAX_CREDENTIAL_CHARS: usize = 4096;
/// Longest mount, path prefix, namespace and IDs.
pub const MAX_NAME_CHARS: usize = 256;
/// Where Microsoft Entra issues tokens, unless the form names another authority host.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
pub const DEFAULT_MOUNT: &str = "secret";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// HashiCorp Vault or OpenBao: the same HTTP API.
    #[default]
    OpenBao,
    Azure,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Self::OpenBao => "HashiCorp Vault / OpenBao",
            Self::Azure => "Azure Key Vault",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenBao => "open_bao",
            Self::Azure => "azure",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::OpenBao, Self::Azure]
            .into_iter()
            .find(|b| b.as_str() == value)
    }
}

/// How Gatehouse signs in to the vault.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VaultAuth {
    #[default]
    Token,
    /// OpenBao AppRole: a role ID and a secret ID.
    AppRole,
    /// Azure: a Microsoft Entra app's client ID and client secret.
    ClientSecret,
}

impl VaultAuth {
    pub fn label(self) -> &'static str {
        match self {
            Self::Token => "Token",
            Self::AppRole => "AppRole",
            Self::ClientSecret => "Client secret",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::AppRole => "app_role",
            Self::ClientSecret => "client_secret",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Token, Self::AppRole, Self::ClientSecret]
            .into_iter()
            .find(|a| a.as_str() == value)
    }

    /// What the credential field is called for this method.
    pub fn credential_label(self) -> &'static str {
        match self {
            Self::Token => "Token",
            Self::AppRole => "Secret ID",
            Self::ClientSecret => "Client secret",
        }
    }
}

/// The set-up pane's values, as typed. Fields that do not apply to the backend are ignored.
/// An empty `credential` on an edit keeps the stored one, as long as nothing it is sent to
/// (backend, address, sign-in method, IDs) changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VaultForm {
    pub backend: Backend,
    pub address: String,
    pub mount: String,
    pub path_prefix: String,
    pub namespace: String,
    pub auth: VaultAuth,
    /// The AppRole role ID, or the Azure client ID.
    pub principal_id: String,
    pub tenant_id: String,
    pub authority_host: String,
    pub credential: String,
}

/// The steps of a connection check, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStepKind {
    Reachable,
    Authenticated,
    MayList,
    MayRead,
    CannotWrite,
}

impl CheckStepKind {
    pub const ALL: [Self; 5] = [
        Self::Reachable,
        Self::Authenticated,
        Self::MayList,
        Self::MayRead,
        Self::CannotWrite,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Reachable => "Reachable",
            Self::Authenticated => "Authenticated",
            Self::MayList => "May list secrets",
            Self::MayRead => "May read a secret",
            Self::CannotWrite => "Cannot write",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    /// Passed, with something the admin should know (write access, nothing to read yet).
    Warn,
    Fail,
    /// Not tried: an earlier step failed, or the backend offers no way to tell.
    NotChecked,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "Passed",
            Self::Warn => "Warning",
            Self::Fail => "Failed",
            Self::NotChecked => "Not checked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckStep {
    pub kind: CheckStepKind,
    pub outcome: Outcome,
    /// A plain reason, never a secret.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub steps: Vec<CheckStep>,
    pub elapsed_ms: u64,
}

impl CheckReport {
    /// Passed when no step failed: warnings do not block a link.
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.outcome != Outcome::Fail)
    }

    /// The first failure's reason.
    pub fn failure(&self) -> Option<&str> {
        self.steps
            .iter()
            .find(|s| s.outcome == Outcome::Fail)
            .map(|s| s.reason.as_str())
    }
}

/// The link as the tab shows it: everything but the credential, which is only "stored".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultLink {
    pub backend: Backend,
    pub address: String,
    pub mount: String,
    pub path_prefix: String,
    pub namespace: String,
    pub auth: VaultAuth,
    pub principal_id: String,
    pub tenant_id: String,
    pub authority_host: String,
    pub healthy: bool,
    pub unreachable_since: Option<i64>,
    pub last_error: Option<String>,
    pub last_checked_at: Option<i64>,
    pub linked_at: i64,
}

impl VaultLink {
    /// The pane's values for an edit: the credential stays stored unless typed again.
    pub fn to_form(&self) -> VaultForm {
        VaultForm {
            backend: self.backend,
            address: self.address.clone(),
            mount: self.mount.clone(),
            path_prefix: self.path_prefix.clone(),
            namespace: self.namespace.clone(),
            auth: self.auth,
            principal_id: self.principal_id.clone(),
            tenant_id: self.tenant_id.clone(),
            authority_host: self.authority_host.clone(),
            credential: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVaultOverview {
    pub link: Option<VaultLink>,
    /// How often the background check runs.
    pub check_every_secs: u64,
    /// Names of the connections that take a credential from the vault.
    pub used_by: Vec<String>,
}

/// The tab's state. Admin only.
#[server(prefix = "/rpc", endpoint = "key_vault", output = crate::wire::JsonAnswer)]
pub async fn load_key_vault() -> Result<KeyVaultOverview, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::overview(&ctx).await
}

/// Checks the values as entered, step by step, without saving anything. Admin only.
#[server(prefix = "/rpc", endpoint = "key_vault_check", output = crate::wire::JsonAnswer)]
pub async fn check_key_vault(form: VaultForm) -> Result<CheckReport, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::check_form(&ctx, form).await
}

/// Links the vault, or changes the link: the server checks the values again itself and saves
/// only when the check passes. Admin only.
#[server(prefix = "/rpc", endpoint = "key_vault_save", output = crate::wire::JsonAnswer)]
pub async fn save_key_vault(form: VaultForm) -> Result<KeyVaultOverview, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::save(&ctx, &admin, form).await
}

/// Checks the linked vault now and records its status. Admin only.
#[server(prefix = "/rpc", endpoint = "key_vault_recheck", output = crate::wire::JsonAnswer)]
pub async fn recheck_key_vault() -> Result<KeyVaultOverview, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::recheck(&ctx).await?;
    ssr::overview(&ctx).await
}

/// The names of the vault's secrets (under the prefix), for picking one. Admin only.
#[server(prefix = "/rpc", endpoint = "key_vault_secrets", output = crate::wire::JsonAnswer)]
pub async fn list_vault_secrets() -> Result<Vec<String>, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::secret_names(&ctx).await
}

/// Removes the link, unless a connection still takes its credential from the vault. Admin only.
#[server(prefix = "/rpc", endpoint = "key_vault_unlink", output = crate::wire::JsonAnswer)]
pub async fn unlink_key_vault() -> Result<KeyVaultOverview, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::unlink(&ctx, &admin).await?;
    ssr::overview(&ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(outcome: Outcome) -> CheckStep {
        CheckStep {
            kind: CheckStepKind::Reachable,
            outcome,
            reason: format!("{outcome:?}"),
        }
    }

    #[test]
    fn warnings_pass_failures_do_not() {
        let report = |outcomes: &[Outcome]| CheckReport {
            steps: outcomes.iter().copied().map(step).collect(),
            elapsed_ms: 0,
        };
        assert!(report(&[Outcome::Pass, Outcome::Warn, Outcome::NotChecked]).passed());
        assert!(!report(&[Outcome::Pass, Outcome::Fail]).passed());
        assert_eq!(
            report(&[Outcome::Pass, Outcome::Fail]).failure(),
            Some("Fail")
        );
        assert!(!report(&[]).passed());
    }

    #[test]
    fn stored_names_round_trip() {
        for b in [Backend::OpenBao, Backend::Azure] {
            assert_eq!(Backend::parse(b.as_str()), Some(b));
        }
        for a in [
            VaultAuth::Token,
            VaultAuth::AppRole,
            VaultAuth::ClientSecret,
        ] {
            assert_eq!(VaultAuth::parse(a.as_str()), Some(a));
        }
        assert_eq!(Backend::parse("vault"), None);
    }
}
