//! An email address that has been checked, so that no bare `String` is mistaken for one.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

/// RFC 5321 caps a forward path at 254 characters.
const MAX_LEN: usize = 254;

impl Email {
    /// Trims and lower-cases the address, then checks its shape: one `@`, a local part, and a
    /// dotted domain without spaces. Deliverability is the invitation's job, not this check's.
    ///
    /// Case is folded for ASCII letters only, everywhere an address is compared (here, the
    /// database's `COLLATE NOCASE`, the sign-in throttle): Unicode lower-casing would turn
    /// `\u{212A}ate@…` (a Kelvin sign) into `kate@…` and reach somebody else's account.
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let email = raw.trim().to_ascii_lowercase();
        if email.is_empty() {
            return Err("Enter an email address.");
        }
        if email.len() > MAX_LEN {
            return Err("An email address has at most 254 characters.");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("Enter an email address like name@example.com.");
        };
        let shaped = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| {
                c.is_whitespace() || c.is_control() || crate::text::is_invisible_format(c)
            });
        if !shaped {
            return Err("Enter an email address like name@example.com.");
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn only_ascii_letters_are_folded() {
        // A Kelvin sign lower-cases to `k` under Unicode's rules: it must stay itself.
        let kelvin = Email::parse("\u{212A}ate@Example.com").unwrap();
        assert_eq!(kelvin.as_str(), "\u{212A}ate@example.com");
        assert_ne!(kelvin, Email::parse("kate@example.com").unwrap());
        assert_eq!(
            Email::parse("\u{130}da@example.com").unwrap().as_str(),
            "\u{130}da@example.com"
        );
    }

    #[test]
    fn refuses_malformed_addresses() {
        let too_long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@.example.com",
            too_long.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
