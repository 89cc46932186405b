//! Keys at rest: AES-256-GCM under the master key, with the key's digest as associated data so
//! that a ciphertext cannot be moved to another row. Lookups use the SHA-256 digest, never the
//! plaintext.

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
};
use sha2::{Digest, Sha256};
use std::fmt;

pub const MASTER_KEY_BYTES: usize = 32;

/// The master key's cipher. `Debug` never shows the key.
#[derive(Clone)]
pub struct Sealer(Aes256Gcm);

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the value could not be decrypted with this master key")]
pub struct Unsealable;

pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// Where one kind of value sealed under the master key is stored, and the associated data it
/// was sealed with: what a master-key rotation must open and seal again. Each feature lists its
/// own next to its associated data (`SEALED`), so a new kind cannot be forgotten by the one
/// place that rotates them all.
pub struct SealedColumn {
    pub table: &'static str,
    pub nonce: &'static str,
    pub ciphertext: &'static str,
    pub aad: Aad,
}

/// How a sealed value's associated data follows from its row.
pub enum Aad {
    Fixed(&'static [u8]),
    /// A BLOB column of the row (the API key's digest).
    Column(&'static str),
    /// A fixed text followed by a TEXT column of the row (an embed portal's origin).
    Prefixed(&'static str, &'static str),
}

impl SealedColumn {
    /// Opens every value of this column with `old` and seals it with `new`, in the caller's
    /// transaction; returns how many. A value that `old` cannot open stops the rotation.
    pub async fn reseal(
        &self,
        conn: &mut crate::db::Conn,
        old: &Sealer,
        new: &Sealer,
    ) -> Result<usize, crate::error::AppError> {
        use sqlx::Row;
        let aad_sql = match self.aad {
            Aad::Fixed(_) => "NULL",
            Aad::Column(c) | Aad::Prefixed(_, c) => c,
        };
        let (table, nonce_col, cipher_col) = (self.table, self.nonce, self.ciphertext);
        let rows = sqlx::query(&format!(
            "SELECT {nonce_col}, {cipher_col}, {aad_sql} FROM {table} \
             WHERE {nonce_col} IS NOT NULL AND {cipher_col} IS NOT NULL"
        ))
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let (nonce, ciphertext): (Vec<u8>, Vec<u8>) = (row.try_get(0)?, row.try_get(1)?);
            let aad: Vec<u8> = match self.aad {
                Aad::Fixed(aad) => aad.to_vec(),
                Aad::Column(_) => row.try_get::<Option<Vec<u8>>, _>(2)?.unwrap_or_default(),
                Aad::Prefixed(prefix, _) => {
                    let text: Option<String> = row.try_get(2)?;
                    [prefix.as_bytes(), text.unwrap_or_default().as_bytes()].concat()
                }
            };
            let plain = old.open(&nonce, &ciphertext, &aad).map_err(|_| {
                crate::error::AppError::internal(format!(
                    "a value in {table} does not open with the current master key"
                ))
            })?;
            let sealed = new.seal(&plain, &aad);
            // A nonce is 96 random bits: it names its row.
            sqlx::query(&format!(
                "UPDATE {table} SET {nonce_col} = $1, {cipher_col} = $2 WHERE {nonce_col} = $3"
            ))
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(&nonce)
            .execute(&mut *conn)
            .await?;
        }
        Ok(rows.len())
    }
}

pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl Sealer {
    pub fn new(master_key: &[u8; MASTER_KEY_BYTES]) -> Self {
        Self(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(master_key)))
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Sealed {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Encryption only fails for inputs over 64 GiB.
            .expect("AES-GCM encryption of a short value");
        Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    pub fn open(&self, nonce: &[u8], ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>, Unsealable> {
        if nonce.len() != 12 {
            return Err(Unsealable);
        }
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let sealer = Sealer::new(&[7; 32]);
        let sealed = sealer.seal(b"gatehouse_secret", b"aad");
        assert_ne!(sealed.ciphertext, b"gatehouse_secret");
        let opened = sealer
            .open(&sealed.nonce, &sealed.ciphertext, b"aad")
            .unwrap();
        assert_eq!(opened, b"gatehouse_secret");
    }

    #[test]
    fn another_master_key_or_row_cannot_open_it() {
        let sealed = Sealer::new(&[7; 32]).seal(b"secret", b"row-1");
        assert!(
            Sealer::new(&[8; 32])
                .open(&sealed.nonce, &sealed.ciphertext, b"row-1")
                .is_err()
        );
        assert!(
            Sealer::new(&[7; 32])
                .open(&sealed.nonce, &sealed.ciphertext, b"row-2")
                .is_err()
        );
    }

    #[test]
    fn nonces_are_fresh() {
        let sealer = Sealer::new(&[7; 32]);
        assert_ne!(sealer.seal(b"x", b"").nonce, sealer.seal(b"x", b"").nonce);
    }
}
