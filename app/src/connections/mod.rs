//! Connections: credentials to third-party systems that the platform's services use. Each holds
//! its secret encrypted under the master key, or names a secret in the linked Key Vault; either
//! way the value is only ever sent to an application allowed to use the connection (REST API)
//! or to the connection's own target (Verify).

mod panel;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use panel::ConnectionsSection;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Longest connection name (a slug that appears in API paths), URL and header name.
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_HEADER_CHARS: usize = 64;
/// Longest secret, and longest vault secret reference.
pub const MAX_SECRET_CHARS: usize = 4096;
pub const MAX_REFERENCE_CHARS: usize = 512;
/// The signature header a webhook gets unless the form names another.
pub const DEFAULT_SIGNATURE_HEADER: &str = "X-Gatehouse-Signature";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// An HTTPS endpoint that receives events signed with HMAC-SHA256.
    #[default]
    Webhook,
    /// A mail server the platform sends through, with a username and password.
    Smtp,
}

impl ConnectionKind {
    pub const ALL: [Self; 2] = [Self::Webhook, Self::Smtp];

    pub fn label(self) -> &'static str {
        match self {
            Self::Webhook => "Webhook",
            Self::Smtp => "SMTP",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Smtp => "smtp",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// What the secret is called for this type.
    pub fn secret_label(self) -> &'static str {
        match self {
            Self::Webhook => "Signing secret",
            Self::Smtp => "Password",
        }
    }
}

/// How an SMTP connection protects the password on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: accepted for a mail server on this machine only.
    None,
}

impl SmtpTls {
    pub const ALL: [Self; 3] = [Self::StartTls, Self::Tls, Self::None];

    pub fn label(self) -> &'static str {
        match self {
            Self::StartTls => "STARTTLS (required)",
            Self::Tls => "TLS (implicit)",
            Self::None => "None (this machine only)",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartTls => "start_tls",
            Self::Tls => "tls",
            Self::None => "none",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    pub fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// Where a connection points, by type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Webhook {
        url: String,
        header_name: String,
    },
    Smtp {
        host: String,
        port: u16,
        tls: SmtpTls,
        username: String,
    },
}

impl Target {
    pub fn kind(&self) -> ConnectionKind {
        match self {
            Self::Webhook { .. } => ConnectionKind::Webhook,
            Self::Smtp { .. } => ConnectionKind::Smtp,
        }
    }

    /// Where it points, in a few words (`hooks.example.com`, `smtp.example.com:587`).
    pub fn summary(&self) -> String {
        match self {
            Self::Webhook { url, .. } => url.clone(),
            Self::Smtp { host, port, .. } => format!("{host}:{port}"),
        }
    }
}

/// Which applications may fetch the connection's credential.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    #[default]
    Admins,
    Contributors,
}

impl Audience {
    pub fn label(self) -> &'static str {
        match self {
            Self::Admins => "Admins",
            Self::Contributors => "Admins and contributors",
        }
    }

    /// The lowest role allowed, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admins => "admin",
            Self::Contributors => "contributor",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admins),
            "contributor" => Some(Self::Contributors),
            _ => None,
        }
    }

    pub fn min_role(self) -> crate::roles::Role {
        match self {
            Self::Admins => crate::roles::Role::Admin,
            Self::Contributors => crate::roles::Role::Contributor,
        }
    }
}

/// The Add/Edit pane's values. On an edit, an empty `secret` keeps the stored one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionForm {
    /// `None` adds a connection.
    pub id: Option<i64>,
    pub name: String,
    pub kind: ConnectionKind,
    pub audience: Audience,
    /// Webhook.
    pub url: String,
    pub header_name: String,
    /// SMTP; the port as typed (empty: the TLS mode's usual port).
    pub host: String,
    pub port: String,
    pub tls: SmtpTls,
    pub username: String,
    pub use_vault: bool,
    pub vault_secret: String,
    pub secret: String,
}

/// Where a connection's secret is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credentials {
    /// Encrypted in Gatehouse.
    Stored,
    /// The name of a secret in the linked Key Vault.
    KeyVault(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: i64,
    pub name: String,
    pub audience: Audience,
    pub target: Target,
    pub credentials: Credentials,
    pub last_verified_at: Option<i64>,
    pub last_verify_ok: Option<bool>,
    pub last_verify_message: Option<String>,
}

impl Connection {
    pub fn to_form(&self) -> ConnectionForm {
        let (use_vault, vault_secret) = match &self.credentials {
            Credentials::Stored => (false, String::new()),
            Credentials::KeyVault(name) => (true, name.clone()),
        };
        let mut form = ConnectionForm {
            id: Some(self.id),
            name: self.name.clone(),
            kind: self.target.kind(),
            audience: self.audience,
            use_vault,
            vault_secret,
            ..ConnectionForm::default()
        };
        match &self.target {
            Target::Webhook { url, header_name } => {
                form.url = url.clone();
                form.header_name = header_name.clone();
            }
            Target::Smtp {
                host,
                port,
                tls,
                username,
            } => {
                form.host = host.clone();
                form.port = port.to_string();
                form.tls = *tls;
                form.username = username.clone();
            }
        }
        form
    }
}

/// What Verify found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResult {
    pub ok: bool,
    /// A plain reason: vault unreachable, secret not found, permission denied, target refused.
    pub message: String,
    pub elapsed_ms: u64,
}

/// The connections, by name. Admin only.
#[server(prefix = "/rpc", endpoint = "connections", output = crate::wire::JsonAnswer)]
pub async fn load_connections() -> Result<Vec<Connection>, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::list(&ctx.pool).await
}

/// Adds a connection, or changes one (`form.id`). Admin only.
#[server(prefix = "/rpc", endpoint = "connection_save", output = crate::wire::JsonAnswer)]
pub async fn save_connection(form: ConnectionForm) -> Result<Connection, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::save(&ctx, &admin, form).await
}

/// Removes a connection. Admin only.
#[server(prefix = "/rpc", endpoint = "connection_remove", output = crate::wire::JsonAnswer)]
pub async fn remove_connection(id: i64) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::remove(&ctx, &admin, id).await
}

/// Resolves the secret now and tests the connection for real. Admin only.
#[server(prefix = "/rpc", endpoint = "connection_verify", output = crate::wire::JsonAnswer)]
pub async fn verify_connection(id: i64) -> Result<VerifyResult, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::verify(&ctx, &admin, id).await
}
