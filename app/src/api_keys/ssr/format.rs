//! The text form of an API key: `gatehouse_` + 32 random bytes + a CRC-32 of them, both in
//! unpadded base64url. The prefix lets secret scanners find leaked keys; the checksum lets them
//! (and us) reject typos and random strings without a database lookup.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

pub const PREFIX: &str = "gatehouse_";
/// 256 bits from the OS generator.
const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = 43; // base64url of 32 bytes, unpadded
const CHECKSUM_CHARS: usize = 6; // base64url of 4 bytes, unpadded
pub const KEY_LEN: usize = PREFIX.len() + SECRET_CHARS + CHECKSUM_CHARS;

/// Formats `secret` as a key.
pub fn encode(secret: &[u8; SECRET_BYTES]) -> String {
    let checksum = crc32fast::hash(secret).to_be_bytes();
    format!(
        "{PREFIX}{}{}",
        URL_SAFE_NO_PAD.encode(secret),
        URL_SAFE_NO_PAD.encode(checksum)
    )
}

/// A new key from the OS CSPRNG.
pub fn generate() -> String {
    use aes_gcm::aead::{OsRng, rand_core::RngCore};
    let mut secret = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    encode(&secret)
}

/// True when `key` has the prefix, the length, the alphabet and a matching checksum.
pub fn is_well_formed(key: &str) -> bool {
    if key.len() != KEY_LEN || !key.starts_with(PREFIX) {
        return false;
    }
    let body = &key[PREFIX.len()..];
    let (secret, checksum) = body.split_at(SECRET_CHARS);
    let (Ok(secret), Ok(checksum)) = (
        URL_SAFE_NO_PAD.decode(secret),
        URL_SAFE_NO_PAD.decode(checksum),
    ) else {
        return false;
    };
    secret.len() == SECRET_BYTES && checksum == crc32fast::hash(&secret).to_be_bytes()
}

/// What the tab shows of a key without revealing it: the prefix and the last four characters.
pub fn mask(key: &str) -> String {
    let tail = &key[key.len().saturating_sub(4)..];
    format!("{PREFIX}{}{tail}", "•".repeat(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        for key in [&a, &b] {
            assert_eq!(key.len(), KEY_LEN);
            assert!(key.starts_with("gatehouse_"));
            assert!(is_well_formed(key), "{key}");
        }
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let key = generate();
        let mut chars: Vec<char> = key.chars().collect();
        let i = PREFIX.len() + 5;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let typo: String = chars.into_iter().collect();
        assert!(!is_well_formed(&typo));
    }

    #[test]
    fn foreign_strings_are_refused() {
        for bad in [
            "",
            "gatehouse_",
            "Bearer x",
            &"x".repeat(KEY_LEN),
            &format!("other_{}", &generate()[5..]),
        ] {
            assert!(!is_well_formed(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_mask_keeps_only_the_prefix_and_last_four() {
        let key = generate();
        let masked = mask(&key);
        assert!(masked.starts_with(PREFIX));
        assert!(masked.ends_with(&key[key.len() - 4..]));
        assert!(!masked.contains(&key[PREFIX.len()..PREFIX.len() + 8]));
    }
}
