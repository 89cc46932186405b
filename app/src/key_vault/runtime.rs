//! What a server process keeps for the Key Vault between requests: its HTTP client and the
//! vault tokens it signed in for. Free of the crate's own imports, because the server context
//! that every feature reads carries it.
//!
//! Nothing here is the source of truth: the link lives in the database, and a token is cached
//! under a key derived from the stored credential's nonce, so that a link changed by another
//! server process (or unlinked and linked again) never reuses an old token.

use std::{
    collections::HashMap,
    fmt,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Connect and request timeouts for every call to a vault.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug)]
pub struct KeyVaultSettings {
    /// How often the background check runs.
    pub check_every: Duration,
    /// A whole request's time limit (10 s by default).
    pub request_timeout: Duration,
    /// How long a secret's value read from the vault is reused (60 s by default; zero: never).
    pub secret_cache: Duration,
    /// Whether outbound requests (the vault, Entra, webhooks, mail servers) may go to this
    /// machine's own addresses (`GATEHOUSE_ALLOW_LOOPBACK_TARGETS`); see `crate::outbound`.
    pub allow_loopback: bool,
}

/// A token from a vault's sign-in (OpenBao AppRole, Microsoft Entra).
#[derive(Clone)]
pub struct CachedToken {
    pub token: String,
    pub issued_at: Instant,
    pub ttl: Duration,
    pub renewable: bool,
}

impl CachedToken {
    /// Still good for a third of its life or more: use it as it is.
    pub fn fresh(&self, now: Instant) -> bool {
        now.duration_since(self.issued_at) < self.ttl * 2 / 3
    }

    pub fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.issued_at) >= self.ttl
    }
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A secret by link (the stored credential's nonce) and reference.
type SecretKey = (Vec<u8>, String);

pub struct VaultRuntime {
    pub settings: KeyVaultSettings,
    pub http: reqwest::Client,
    tokens: Mutex<HashMap<Vec<u8>, CachedToken>>,
    /// Secret values by link (the credential's nonce) and name, with when they were read.
    secrets: Mutex<HashMap<SecretKey, (String, Instant)>>,
}

impl fmt::Debug for VaultRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultRuntime")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl VaultRuntime {
    pub fn new(settings: KeyVaultSettings) -> Result<Self, reqwest::Error> {
        let http = crate::outbound::client(
            settings.allow_loopback,
            CONNECT_TIMEOUT,
            settings.request_timeout,
        )?;
        Ok(Self {
            settings,
            http,
            tokens: Mutex::new(HashMap::new()),
            secrets: Mutex::new(HashMap::new()),
        })
    }

    pub fn token(&self, key: &[u8]) -> Option<CachedToken> {
        self.tokens.lock().ok()?.get(key).cloned()
    }

    /// Keeps one token: the link has one credential at a time.
    pub fn keep_token(&self, key: &[u8], token: CachedToken) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.clear();
            tokens.insert(key.to_vec(), token);
        }
    }

    pub fn forget_tokens(&self) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.clear();
        }
        if let Ok(mut secrets) = self.secrets.lock() {
            secrets.clear();
        }
    }

    /// A secret's value read less than `secret_cache` ago.
    pub fn cached_secret(&self, link: &[u8], name: &str) -> Option<String> {
        let secrets = self.secrets.lock().ok()?;
        let (value, read_at) = secrets.get(&(link.to_vec(), name.to_owned()))?;
        (read_at.elapsed() < self.settings.secret_cache).then(|| value.clone())
    }

    pub fn keep_secret(&self, link: &[u8], name: &str, value: &str) {
        if self.settings.secret_cache.is_zero() {
            return;
        }
        if let Ok(mut secrets) = self.secrets.lock() {
            // Old entries go on the next write: the map never outgrows the connections.
            let ttl = self.settings.secret_cache;
            secrets.retain(|_, (_, read_at)| read_at.elapsed() < ttl);
            secrets.insert(
                (link.to_vec(), name.to_owned()),
                (value.to_owned(), Instant::now()),
            );
        }
    }
}
