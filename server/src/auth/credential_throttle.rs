//! The failed-credential limit every credential in a header shares (API keys, client secrets,
//! the provisioning token, embed tokens): per client, so that none can be guessed at speed.

use super::client_key;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Instant,
};

/// Per-client limit on failed key checks, so that keys cannot be guessed at speed. Once a
/// client is over it, its requests are refused before any credential is looked at, until the
/// limiter would admit it again.
#[derive(Clone)]
pub struct FailedKeyThrottle {
    failures: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    blocked_until: Arc<Mutex<HashMap<IpAddr, Instant>>>,
}

impl FailedKeyThrottle {
    pub fn per_minute(failures: u32) -> Self {
        let failures = NonZeroU32::new(failures).unwrap_or(NonZeroU32::MIN);
        Self {
            failures: Arc::new(RateLimiter::keyed(Quota::per_minute(failures))),
            blocked_until: Arc::default(),
        }
    }

    pub(crate) fn blocked(&self, client: IpAddr) -> bool {
        let now = Instant::now();
        self.blocked_until
            .lock()
            .ok()
            .and_then(|b| b.get(&client_key(client)).copied())
            .is_some_and(|until| until > now)
    }

    /// Counts a failure; true when the client is now over the limit (and blocked).
    pub(crate) fn fail(&self, client: IpAddr) -> bool {
        let key = client_key(client);
        match self.failures.check_key(&key) {
            Ok(()) => false,
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                if let Ok(mut blocked) = self.blocked_until.lock() {
                    blocked.insert(key, Instant::now() + wait);
                }
                true
            }
        }
    }

    pub fn forget_idle(&self) {
        self.failures.retain_recent();
        let now = Instant::now();
        if let Ok(mut blocked) = self.blocked_until.lock() {
            blocked.retain(|_, until| *until > now);
        }
    }
}
