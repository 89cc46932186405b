//! Configuration: command-line flags, each also read from the environment.

use app::roles::Role;
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

#[derive(Parser, Debug)]
#[command(
    name = "gatehouse",
    version,
    about = "Gatehouse: the Security settings page"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// Without a command, Gatehouse serves the app.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Add a local user; the password is read from standard input.
    AddUser(AddUser),
    /// Give a user a new password, read from standard input; their sessions end. The
    /// last-admin rules do not apply: this is how an operator gets back in.
    ResetPassword(ResetPassword),
    /// Write a consistent copy of the SQLite database while servers keep running.
    Backup(Backup),
    /// The database, principals, API, Key Vault, Lockbox and last sign-in at a glance.
    Status(Status),
    /// Copy everything into a new, empty PostgreSQL database (`--from` the current database,
    /// `--to postgres://…`), checking the row counts at the end.
    CopyData(CopyData),
    /// Seal every stored secret again under a new master key (GATEHOUSE_NEW_MASTER_KEY or
    /// --new-key-file), with no server running on the database.
    RotateMasterKey(RotateMasterKey),
    /// The audit log: `gatehouse audit verify` checks its chain.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute the audit log's chain: "intact" (exit 0) or the first altered entry (exit 1).
    Verify {
        /// A checkpoint printed earlier (JSON): also find entries deleted from the log's end.
        #[arg(long)]
        checkpoint: Option<String>,
    },
    /// Sign a checkpoint of the log's head, record it in the log and print it as JSON.
    Checkpoint,
}

/// `gatehouse copy-data --from sqlite://gatehouse.db --to postgres://…`.
#[derive(Args, Debug)]
pub struct CopyData {
    /// The database to copy from (default: GATEHOUSE_DATABASE_URL).
    #[arg(long)]
    pub from: Option<String>,
    /// The empty PostgreSQL database to copy into.
    #[arg(long)]
    pub to: String,
}

/// `gatehouse rotate-master-key [--new-key-file PATH]`.
#[derive(Args, Debug)]
pub struct RotateMasterKey {
    /// The new key: 32 bytes in base64, as in GATEHOUSE_MASTER_KEY.
    #[arg(long, env = "GATEHOUSE_NEW_MASTER_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub new_master_key: Option<SecretString>,
    /// A file holding the new key (mode 0600), instead of GATEHOUSE_NEW_MASTER_KEY.
    #[arg(long)]
    pub new_key_file: Option<std::path::PathBuf>,
}

/// `gatehouse reset-password EMAIL` (the password comes from standard input).
#[derive(Args, Debug)]
pub struct ResetPassword {
    pub email: String,
}

/// `gatehouse backup --to PATH [--force]`.
#[derive(Args, Debug)]
pub struct Backup {
    /// Where the copy goes (mode 0600); written under a temporary name and renamed when whole.
    #[arg(long)]
    pub to: std::path::PathBuf,
    /// Replace an existing file at PATH.
    #[arg(long, default_value_t = false)]
    pub force: bool,
}

/// `gatehouse status [--json]`.
#[derive(Args, Debug)]
pub struct Status {
    /// Print JSON instead of text.
    #[arg(long, default_value_t = false)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: String,

    /// SQLite database; the file is created on first start.
    #[arg(
        long,
        env = "GATEHOUSE_DATABASE_URL",
        default_value = "sqlite://gatehouse.db"
    )]
    pub database_url: String,

    /// Email of the first administrator, created when the database has no users.
    #[arg(
        long,
        env = "GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL",
        default_value = "admin@gatehouse.local"
    )]
    pub bootstrap_admin_email: String,

    /// Password of the first administrator; when unset one is generated and logged once.
    #[arg(long, env = "GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", hide_env_values = true, value_parser = parse_secret)]
    pub bootstrap_admin_password: Option<SecretString>,

    /// Mark cookies Secure; set it when Gatehouse is served over HTTPS.
    #[arg(long, env = "GATEHOUSE_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// A session nobody used for this long ends.
    #[arg(long, env = "GATEHOUSE_SESSION_IDLE_MINUTES", default_value_t = 60)]
    pub session_idle_minutes: u64,

    /// Every session ends this long after sign-in, used or not.
    #[arg(long, env = "GATEHOUSE_SESSION_ABSOLUTE_HOURS", default_value_t = 12)]
    pub session_absolute_hours: u64,

    /// Sign-in attempts allowed per client address and minute (also the burst).
    #[arg(
        long,
        env = "GATEHOUSE_LOGIN_ATTEMPTS_PER_MINUTE",
        default_value_t = 10
    )]
    pub login_attempts_per_minute: u32,

    /// The portals that may frame the embedded Security page (`/embed/*`; CSP
    /// `frame-ancestors` sources, e.g. "https://portal.example.com"). When set, it replaces
    /// the APIs tab's list of allowed portal origins, which then shows it read-only. Every
    /// other page may only be framed by Gatehouse itself.
    #[arg(long, env = "GATEHOUSE_FRAME_ANCESTORS")]
    pub frame_ancestors: Option<String>,

    /// How long an embed session lasts, in seconds (at most 15 minutes); the portal renews it
    /// with a new embed token.
    #[arg(long, env = "GATEHOUSE_EMBED_SESSION_SECONDS", default_value_t = 900, value_parser = clap::value_parser!(i64).range(1..=900))]
    pub embed_session_seconds: i64,

    /// The 32-byte key (base64) that encrypts API keys at rest. When unset, Gatehouse uses the
    /// key file beside the database (`gatehouse.key`, created with mode 0600 on first start).
    #[arg(long, env = "GATEHOUSE_MASTER_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub master_key: Option<SecretString>,

    /// Failed API-key attempts allowed per client address and minute before 429.
    #[arg(long, env = "GATEHOUSE_API_FAILURES_PER_MINUTE", default_value_t = 30)]
    pub api_failures_per_minute: u32,

    /// Customer Lockbox: how long a request waits for an answer before it expires, in seconds.
    /// When set, it replaces the tab's setting (default there: 4 days).
    #[arg(long, env = "GATEHOUSE_LOCKBOX_REQUEST_EXPIRY_SECONDS", value_parser = clap::value_parser!(i64).range(1..=31_536_000))]
    pub lockbox_request_expiry_seconds: Option<i64>,

    /// Customer Lockbox: how long approved access lasts, in seconds. When set, it replaces the
    /// tab's setting (default there: 8 hours).
    #[arg(long, env = "GATEHOUSE_LOCKBOX_ACCESS_PERIOD_SECONDS", value_parser = clap::value_parser!(i64).range(1..=31_536_000))]
    pub lockbox_access_period_seconds: Option<i64>,

    /// Key Vault: seconds between background checks of the linked vault.
    #[arg(long, env = "GATEHOUSE_KEY_VAULT_CHECK_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub key_vault_check_seconds: u64,

    /// Key Vault: time limit for one request to the vault, in seconds (connecting: 5 s at most).
    #[arg(long, env = "GATEHOUSE_KEY_VAULT_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
    pub key_vault_timeout_seconds: u64,

    /// Key Vault: how long a secret read from the vault is reused, in seconds (0: read it
    /// on every use).
    #[arg(long, env = "GATEHOUSE_KEY_VAULT_CACHE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub key_vault_cache_seconds: u64,

    /// Stream every audit entry to a SIEM: RFC 5424 syslog over TCP, `tcp://host:port`, or
    /// over TLS (RFC 5425), `tls://host:port`.
    #[arg(long, env = "GATEHOUSE_AUDIT_SYSLOG")]
    pub audit_syslog: Option<String>,

    /// With `tls://`: a PEM file of the certificate authorities that the SIEM's certificate
    /// must chain to (default: the system's trusted authorities).
    #[arg(long, env = "GATEHOUSE_AUDIT_SYSLOG_CA")]
    pub audit_syslog_ca: Option<std::path::PathBuf>,

    /// Single sign-on: the OpenID provider's issuer URL (its discovery document is read from
    /// `{issuer}/.well-known/openid-configuration`). Needs the client ID and secret too.
    #[arg(long, env = "GATEHOUSE_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// Single sign-on: Gatehouse's client ID at the provider.
    #[arg(long, env = "GATEHOUSE_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// Single sign-on: Gatehouse's client secret at the provider (sent with HTTP Basic).
    #[arg(long, env = "GATEHOUSE_OIDC_CLIENT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub oidc_client_secret: Option<SecretString>,

    /// Single sign-on: the provider's name on the sign-in button ("Sign in with …").
    #[arg(long, env = "GATEHOUSE_OIDC_NAME", default_value = "single sign-on")]
    pub oidc_name: String,

    /// The origin users reach Gatehouse at (`https://gatehouse.example.com`), for the single
    /// sign-on redirect URI `{public URL}/auth/oidc/callback`. Default: `http://` and the
    /// address the server listens on.
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Let outbound requests (the linked vault, webhooks, mail servers) reach this machine's
    /// own addresses: for a vault or mail relay on the same host, and for tests. Link-local and
    /// cloud metadata addresses are refused either way.
    #[arg(
        long,
        env = "GATEHOUSE_ALLOW_LOOPBACK_TARGETS",
        default_value_t = false
    )]
    pub allow_loopback_targets: bool,

    /// Seconds for a request's headers to arrive (and for an idle keep-alive connection to send
    /// its next request) before the connection is closed.
    #[arg(long, env = "GATEHOUSE_HEADER_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout_seconds: u64,

    /// Seconds a whole request may take, body included, before it is answered 408.
    #[arg(long, env = "GATEHOUSE_REQUEST_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_seconds: u64,

    /// Connections open at once; more wait in the listen backlog.
    #[arg(long, env = "GATEHOUSE_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(16..=1_000_000))]
    pub max_connections: u64,

    /// Audit log entries older than this many days are deleted in the background.
    #[arg(long, env = "GATEHOUSE_AUDIT_RETENTION_DAYS", default_value_t = 400, value_parser = clap::value_parser!(i64).range(1..=36_500))]
    pub audit_retention_days: i64,

    /// Reverse proxies whose X-Forwarded-For / Forwarded / X-Forwarded-Host are believed:
    /// addresses or CIDR blocks, separated by commas. Empty: the headers are ignored.
    #[arg(long, env = "GATEHOUSE_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// Log format.
    #[arg(long, env = "GATEHOUSE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

impl Config {
    /// The defaults, as if started with no flags and an empty environment (for tests).
    pub fn defaults() -> Self {
        Cli::parse_from(["gatehouse"]).config
    }

    /// Single sign-on as the environment sets it (`None` without an issuer), and the redirect
    /// URI, for a server listening on `bound`.
    pub fn sso_settings(
        &self,
        bound: std::net::SocketAddr,
    ) -> Result<(Option<app::sso::ssr::SsoSettings>, String), String> {
        use secrecy::ExposeSecret;
        let public = match &self.public_url {
            Some(url) => {
                let url = url.trim().trim_end_matches('/');
                let parsed: http::Uri = url.parse().map_err(|_| {
                    format!("GATEHOUSE_PUBLIC_URL: {url:?} is not a URL such as https://gatehouse.example.com")
                })?;
                if !matches!(parsed.scheme_str(), Some("http" | "https"))
                    || parsed.authority().is_none()
                    || !matches!(parsed.path(), "" | "/")
                {
                    return Err(format!(
                        "GATEHOUSE_PUBLIC_URL: {url:?} is not an origin such as https://gatehouse.example.com (a scheme and a host, no path)"
                    ));
                }
                url.to_owned()
            }
            None => format!("http://{bound}"),
        };
        let redirect_uri = format!("{public}{}", app::sso::CALLBACK_PATH);
        let Some(issuer) = self.oidc_issuer.as_deref().filter(|i| !i.trim().is_empty()) else {
            return Ok((None, redirect_uri));
        };
        let (Some(client_id), Some(secret)) = (&self.oidc_client_id, &self.oidc_client_secret)
        else {
            return Err("GATEHOUSE_OIDC_ISSUER is set: set GATEHOUSE_OIDC_CLIENT_ID and GATEHOUSE_OIDC_CLIENT_SECRET too (Gatehouse's registration at the provider)".into());
        };
        let settings = app::sso::ssr::SsoSettings {
            issuer: issuer.trim().trim_end_matches('/').to_owned(),
            client_id: client_id.clone(),
            client_secret: secret.expose_secret().to_owned(),
            name: self.oidc_name.trim().to_owned(),
            redirect_uri: redirect_uri.clone(),
        };
        Ok((Some(settings), redirect_uri))
    }
}

/// `gatehouse add-user`: who to add (the password comes from standard input).
#[derive(Args, Debug)]
pub struct AddUser {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// viewer, contributor or admin
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    #[arg(long, default_value_t = false)]
    pub lockbox_approver: bool,
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| "expected viewer, contributor or admin".to_owned())
}
