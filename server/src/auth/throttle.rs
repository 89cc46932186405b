//! Per-address limit on sign-in attempts, so that passwords cannot be guessed at speed.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{net::IpAddr, num::NonZeroU32, sync::Arc};

#[derive(Clone)]
pub struct LoginThrottle(Arc<DefaultKeyedRateLimiter<IpAddr>>);

impl LoginThrottle {
    pub fn per_minute(attempts: u32) -> Self {
        let attempts = NonZeroU32::new(attempts).unwrap_or(NonZeroU32::MIN);
        Self(Arc::new(RateLimiter::keyed(Quota::per_minute(attempts))))
    }

    /// Counts an attempt from `client`; true when it is over the limit and must be refused.
    /// Every attempt counts, successful or not, so a correct guess cannot slip through either.
    pub fn exhausted(&self, client: IpAddr) -> bool {
        self.0.check_key(&client).is_err()
    }

    /// Forgets addresses whose quota has fully recovered (keeps memory bounded).
    pub fn forget_idle(&self) {
        self.0.retain_recent();
    }
}
