//! What the server's configuration says about Customer Lockbox. Its own file, free of imports,
//! because the server context that every feature reads carries it.

/// Durations the server's configuration fixes (environment variables), overriding the tab's.
#[derive(Clone, Copy, Debug, Default)]
pub struct LockboxSettings {
    pub request_expiry_secs: Option<i64>,
    pub access_period_secs: Option<i64>,
}
