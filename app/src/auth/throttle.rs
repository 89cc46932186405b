//! Limits on password attempts, per client and per account, so that passwords cannot be
//! guessed at speed from one address nor from many. Sign-in and every place that asks for a
//! password again (Lockbox approval, a password change, confirming a pending change) count
//! against the same limits: a stolen session cannot guess its owner's password faster than a
//! stranger at the sign-in form.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    sync::Arc,
};

/// The unit a client is counted by: an IPv4 address, or an IPv6 /64 (one subscriber's
/// network: anyone holding one has 2^64 addresses to rotate through).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        },
    }
}

#[derive(Clone)]
pub struct LoginThrottle {
    clients: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    accounts: Arc<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").finish_non_exhaustive()
    }
}

impl LoginThrottle {
    pub fn per_minute(attempts: u32) -> Self {
        let attempts = NonZeroU32::new(attempts).unwrap_or(NonZeroU32::MIN);
        Self {
            clients: Arc::new(RateLimiter::keyed(Quota::per_minute(attempts))),
            accounts: Arc::new(RateLimiter::keyed(Quota::per_minute(attempts))),
        }
    }

    /// Counts an attempt from `client` at `email`; true when either is over the limit and the
    /// attempt must be refused. Every attempt counts, successful or not, so a correct guess
    /// cannot slip through either.
    pub fn exhausted(&self, client: IpAddr, email: &str) -> bool {
        let by_client = self.clients.check_key(&client_key(client)).is_err();
        // Folded as `Email::parse` folds (ASCII only), so one account is one key.
        let account = email.trim().to_ascii_lowercase();
        let by_account = !account.is_empty() && self.accounts.check_key(&account).is_err();
        by_client || by_account
    }

    /// Forgets keys whose quota has fully recovered (keeps memory bounded).
    pub fn forget_idle(&self) {
        self.clients.retain_recent();
        self.accounts.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_account_is_limited_across_addresses() {
        let throttle = LoginThrottle::per_minute(2);
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        assert!(!throttle.exhausted(ip(1), "Ada@example.com"));
        assert!(!throttle.exhausted(ip(2), "ada@example.com"));
        assert!(throttle.exhausted(ip(3), "ada@example.com "));
        assert!(!throttle.exhausted(ip(4), "bob@example.com"));
    }
}
