//! Invitation tokens and application secrets: 256 random bits, kept only as a SHA-256 digest.
//! With that much entropy a fast hash is enough; a slow one would only slow every API call.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Application secrets start with this, so that secret scanners can find leaked ones.
pub const SECRET_PREFIX: &str = "gatehouse_app_";

/// 32 bytes from the OS generator, in unpadded base64url (43 characters).
pub fn random_token() -> String {
    use aes_gcm::aead::{OsRng, rand_core::RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", random_token())
}

pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A random ID in UUID form, the "Email/ID" of groups and applications.
pub fn new_id() -> String {
    use aes_gcm::aead::{OsRng, rand_core::RngCore};
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_distinct_and_digests_fixed() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), digest(&b));
        assert!(new_secret().starts_with(SECRET_PREFIX));
        assert_eq!(new_id().len(), 36);
    }
}
