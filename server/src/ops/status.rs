//! `gatehouse status [--json]`: what an operator checks first on a bad day.

use crate::{config::Config, db, error::StartupError};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub database: &'static str,
    /// The newest migration applied.
    pub schema_version: i64,
    pub users: i64,
    pub groups: i64,
    pub applications: i64,
    pub admins: i64,
    pub api_enabled: bool,
    /// `not linked`, `healthy` or `unreachable`, with the vault's address.
    pub key_vault: String,
    pub customer_lockbox: bool,
    pub audit_entries: i64,
    /// The audit chain's verdict (`gatehouse audit verify`), when the master key is at hand.
    pub audit_chain: Option<String>,
    /// The newest successful sign-in: when (RFC 3339, UTC) and who.
    pub last_sign_in: Option<(String, String)>,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "database: {} (schema {})",
            self.database, self.schema_version
        )?;
        writeln!(
            f,
            "principals: {} users ({} Admins), {} groups, {} applications",
            self.users, self.admins, self.groups, self.applications
        )?;
        writeln!(
            f,
            "API: {}",
            if self.api_enabled {
                "enabled"
            } else {
                "disabled"
            }
        )?;
        writeln!(f, "Key Vault: {}", self.key_vault)?;
        writeln!(
            f,
            "Customer Lockbox: {}",
            if self.customer_lockbox { "on" } else { "off" }
        )?;
        writeln!(f, "audit log: {} entries", self.audit_entries)?;
        if let Some(chain) = &self.audit_chain {
            writeln!(f, "{chain}")?;
        }
        match &self.last_sign_in {
            Some((at, who)) => write!(f, "last sign-in: {at} by {who}"),
            None => write!(f, "last sign-in: none yet"),
        }
    }
}

pub async fn status(config: &Config) -> Result<Status, StartupError> {
    let pool = db::connect(&config.database_url, None).await?;
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await }
    };
    let vault: Option<(String, app::db::Flag)> =
        sqlx::query_as("SELECT address, healthy FROM key_vault WHERE id = 1")
            .fetch_optional(&pool)
            .await?;
    let last: Option<(i64, Option<String>)> = sqlx::query_as(
        "SELECT at, actor_email FROM audit_log WHERE action = 'auth.sign_in' \
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&pool)
    .await?;
    let status = Status {
        database: match app::db::Backend::of(&pool) {
            app::db::Backend::Sqlite => "sqlite",
            app::db::Backend::Postgres => "postgres",
        },
        schema_version: count("SELECT coalesce(max(version), 0) FROM _sqlx_migrations").await?,
        users: count("SELECT count(*) FROM principals WHERE kind = 'user'").await?,
        groups: count("SELECT count(*) FROM principals WHERE kind = 'group'").await?,
        applications: count("SELECT count(*) FROM principals WHERE kind = 'application'").await?,
        admins: count(
            "SELECT count(*) FROM principals WHERE kind = 'user' AND role = 'admin' AND active = TRUE",
        )
        .await?,
        api_enabled: count("SELECT count(*) FROM api_settings WHERE enabled").await? == 1,
        key_vault: match vault {
            None => "not linked".into(),
            Some((address, app::db::Flag(true))) => format!("healthy ({address})"),
            Some((address, app::db::Flag(false))) => format!("unreachable ({address})"),
        },
        customer_lockbox: count("SELECT count(*) FROM lockbox_policy WHERE id = 1 AND enabled").await? == 1,
        audit_entries: count("SELECT count(*) FROM audit_log").await?,
        audit_chain: match super::verify_audit(config, None).await {
            Ok(verdict) => Some(verdict.to_string()),
            Err(_) => None,
        },
        last_sign_in: last.map(|(at, who)| (app::time_fmt::rfc3339(at), who.unwrap_or_default())),
    };
    pool.close().await;
    Ok(status)
}
