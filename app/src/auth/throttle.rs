//! Limits on password attempts, per client and per account, so that passwords cannot be
//! guessed at speed from one address nor from many. Sign-in and every place that asks for a
//! password again (Lockbox approval, a password change, confirming a pending change) count
//! against the same limits: a stolen session cannot guess its owner's password faster than a
//! stranger at the sign-in form.

use crate::{
    db::{Pool, begin_write},
    error::AppError,
    time_fmt::unix_now,
};
use std::net::{IpAddr, Ipv6Addr};

/// The window the limit counts attempts in.
const WINDOW_SECS: i64 = 60;

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

/// The attempts of the last minute are rows in the database (`password_attempts`), so that
/// every server on one database counts them together: a guesser gains nothing by spreading
/// attempts over servers behind a load balancer.
#[derive(Clone, Debug)]
pub struct LoginThrottle {
    per_minute: i64,
}

impl LoginThrottle {
    pub fn per_minute(attempts: u32) -> Self {
        Self {
            per_minute: i64::from(attempts.max(1)),
        }
    }

    /// Counts an attempt from `client` at `email`; true when either has made more than the
    /// limit in the last minute and the attempt must be refused. Every attempt counts,
    /// successful or not, so a correct guess cannot slip through either.
    pub async fn exhausted(
        &self,
        pool: &Pool,
        client: IpAddr,
        email: &str,
    ) -> Result<bool, AppError> {
        // Folded as `Email::parse` folds (ASCII only), so one account is one key.
        let account = email.trim().to_ascii_lowercase();
        let mut keys = vec![format!("client {}", client_key(client))];
        if !account.is_empty() {
            keys.push(format!("account {account}"));
        }
        let now = unix_now();
        let mut tx = begin_write(pool).await?;
        let mut over = false;
        for key in &keys {
            sqlx::query("INSERT INTO password_attempts (key, at) VALUES ($1, $2)")
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let made: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM password_attempts WHERE key = $1 AND at > $2",
            )
            .bind(key)
            .bind(now - WINDOW_SECS)
            .fetch_one(&mut *tx)
            .await?;
            over |= made > self.per_minute;
        }
        tx.commit().await?;
        Ok(over)
    }

    /// Forgets attempts older than the window (housekeeping).
    pub async fn prune(pool: &Pool) -> Result<(), AppError> {
        sqlx::query("DELETE FROM password_attempts WHERE at <= $1")
            .bind(unix_now() - WINDOW_SECS)
            .execute(pool)
            .await?;
        Ok(())
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
}
