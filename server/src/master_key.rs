//! The master key that encrypts API keys at rest: from `GATEHOUSE_MASTER_KEY`, or from a key
//! file beside the database that only the server's user may read.

use crate::{config::Config, error::StartupError};
use app::api_keys::ssr::sealing::MASTER_KEY_BYTES;
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretString};
use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

const KEY_FILE: &str = "gatehouse.key";

pub fn load(config: &Config) -> Result<[u8; MASTER_KEY_BYTES], StartupError> {
    if let Some(key) = &config.master_key {
        return decode(key, "GATEHOUSE_MASTER_KEY");
    }
    let path = key_file_path(&config.database_url)?;
    if path.exists() {
        let mode = fs::metadata(&path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(StartupError::Config(format!(
                "{} is readable by other users (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            )));
        }
        let text = SecretString::from(fs::read_to_string(&path)?);
        return decode(&text, &path.display().to_string());
    }
    let mut key = [0u8; MASTER_KEY_BYTES];
    {
        use aes_gcm::aead::{OsRng, rand_core::RngCore};
        OsRng.fill_bytes(&mut key);
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(STANDARD.encode(key).as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated the master key file; back it up with the database");
    Ok(key)
}

fn decode(value: &SecretString, source: &str) -> Result<[u8; MASTER_KEY_BYTES], StartupError> {
    STANDARD
        .decode(value.expose_secret().trim())
        .ok()
        .and_then(|bytes| <[u8; MASTER_KEY_BYTES]>::try_from(bytes).ok())
        .ok_or_else(|| {
            StartupError::Config(format!(
                "{source} must hold 32 bytes in base64 (e.g. `openssl rand -base64 32`)"
            ))
        })
}

/// `sqlite://dir/gatehouse.db?mode=rwc` → `dir/gatehouse.key`.
fn key_file_path(database_url: &str) -> Result<PathBuf, StartupError> {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Err(StartupError::Config(
            "an in-memory database has no directory for the key file: set GATEHOUSE_MASTER_KEY"
                .into(),
        ));
    }
    let dir = Path::new(path).parent().unwrap_or(Path::new("."));
    Ok(dir.join(KEY_FILE))
}

#[cfg(test)]
mod tests {
    use super::key_file_path;
    use std::path::PathBuf;

    #[test]
    fn the_key_file_sits_beside_the_database() {
        assert_eq!(
            key_file_path("sqlite://gatehouse.db").unwrap(),
            PathBuf::from("gatehouse.key")
        );
        assert_eq!(
            key_file_path("sqlite:///var/lib/g/g.db?mode=rwc").unwrap(),
            PathBuf::from("/var/lib/g/gatehouse.key")
        );
        assert!(key_file_path("sqlite::memory:").is_err());
    }
}
