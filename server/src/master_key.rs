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

/// Where the master key comes from.
pub enum Source {
    Environment,
    File(PathBuf),
}

/// The master key as the server reads it; on first start without one, a generated key file.
pub fn load(config: &Config) -> Result<[u8; MASTER_KEY_BYTES], StartupError> {
    if let Some(key) = current(config)? {
        return Ok(key.0);
    }
    let key_file = key_file_path(&config.database_url)?;
    // A rotation stopped between its two renames: the old key is already `.old`, and the
    // pending key is the one the database was committed under.
    let pending = pending_path(&key_file);
    if pending.exists() {
        fs::rename(&pending, &key_file)?;
        return read_file(&key_file);
    }
    generate(&key_file)
}

/// The master key in use and where it came from; `None` when there is none yet.
pub fn current(config: &Config) -> Result<Option<([u8; MASTER_KEY_BYTES], Source)>, StartupError> {
    if let Some(key) = &config.master_key {
        return Ok(Some((
            decode(key, "GATEHOUSE_MASTER_KEY")?,
            Source::Environment,
        )));
    }
    let path = key_file_path(&config.database_url)?;
    if path.exists() {
        return Ok(Some((read_file(&path)?, Source::File(path))));
    }
    Ok(None)
}

/// A key file, refused when other users may read it.
pub fn read_file(path: &Path) -> Result<[u8; MASTER_KEY_BYTES], StartupError> {
    {
        let mode = fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(StartupError::Config(format!(
                "{} is readable by other users (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            )));
        }
        let text = SecretString::from(fs::read_to_string(path)?);
        decode(&text, &path.display().to_string())
    }
}

fn generate(path: &Path) -> Result<[u8; MASTER_KEY_BYTES], StartupError> {
    let mut key = [0u8; MASTER_KEY_BYTES];
    {
        use aes_gcm::aead::{OsRng, rand_core::RngCore};
        OsRng.fill_bytes(&mut key);
    }
    write_file(path, &key)?;
    tracing::info!(path = %path.display(), "generated the master key file; back it up with the database");
    Ok(key)
}

/// Writes a key file that only this user may read, durably; refuses to replace one.
pub fn write_file(path: &Path, key: &[u8; MASTER_KEY_BYTES]) -> Result<(), StartupError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(STANDARD.encode(key).as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// A key given as base64 text (the new key of a rotation).
pub fn decode_text(
    value: &SecretString,
    source: &str,
) -> Result<[u8; MASTER_KEY_BYTES], StartupError> {
    decode(value, source)
}

/// The key file a rotation writes before it commits, renamed over the key file once the
/// database holds values sealed under it.
pub fn pending_path(key_file: &Path) -> PathBuf {
    key_file.with_extension("key.new")
}

/// Where a rotation keeps the key it replaced, until the operator removes it.
pub fn old_path(key_file: &Path) -> PathBuf {
    key_file.with_extension("key.old")
}

/// The key a rotation left pending (`gatehouse.key.new`), if there is one.
pub fn current_pending(config: &Config) -> Result<Option<[u8; MASTER_KEY_BYTES]>, StartupError> {
    if config.master_key.is_some() {
        return Ok(None);
    }
    let pending = pending_path(&key_file_path(&config.database_url)?);
    if !pending.exists() {
        return Ok(None);
    }
    read_file(&pending).map(Some)
}

/// Finishes a rotation that committed but stopped before its key file was renamed: when the
/// key file does not open this database and the pending one (`gatehouse.key.new`) does
/// (`opens`), the pending one becomes the key file. Returns the key now in use, if so.
pub fn finish_rotation(
    config: &Config,
    opens: impl Fn(&[u8; MASTER_KEY_BYTES]) -> bool,
) -> Result<Option<[u8; MASTER_KEY_BYTES]>, StartupError> {
    let Some(key) = current_pending(config)? else {
        return Ok(None);
    };
    if !opens(&key) {
        return Ok(None);
    }
    let key_file = key_file_path(&config.database_url)?;
    swap_in(&key_file, &pending_path(&key_file))?;
    tracing::warn!(path = %key_file.display(), "finished an interrupted master-key rotation");
    Ok(Some(key))
}

/// `gatehouse.key` → `gatehouse.key.old`, `gatehouse.key.new` → `gatehouse.key`, durably.
pub fn swap_in(key_file: &Path, pending: &Path) -> Result<(), StartupError> {
    if key_file.exists() {
        fs::rename(key_file, old_path(key_file))?;
    }
    fs::rename(pending, key_file)?;
    let dir = key_file.parent().filter(|d| !d.as_os_str().is_empty());
    fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
    Ok(())
}

/// The lock file beside the database: every running server holds it shared, so that a
/// rotation (which takes it exclusively) knows that none runs; a server that exits, however it
/// exits, lets go of it at once.
/// None for an in-memory database, which no other process can open.
pub fn lock_path(database_url: &str) -> Option<PathBuf> {
    key_file_path(database_url)
        .ok()
        .map(|k| k.with_extension("servers.lock"))
}

pub fn open_lock(path: &Path) -> Result<fs::File, StartupError> {
    Ok(fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)?)
}

/// Held by a running server for its lifetime.
/// The advisory lock that servers on PostgreSQL hold shared, as they hold the lock file on
/// SQLite (a number that names it in `pg_locks`).
const SERVERS_LOCK: i64 = 0x6761_7465_686f_7576;

/// A connection of its own to a PostgreSQL database; `None` for SQLite.
async fn postgres_connection(
    database_url: &str,
) -> Result<Option<sqlx::PgConnection>, StartupError> {
    use sqlx::Connection;
    if app::db::Backend::of_url(database_url) != Some(app::db::Backend::Postgres) {
        return Ok(None);
    }
    Ok(Some(sqlx::PgConnection::connect(database_url).await?))
}

/// On PostgreSQL, the connection on which this server holds the servers' lock shared, for as
/// long as it runs (waiting while a rotation holds it); `None` on SQLite.
pub async fn hold_shared_on_postgres(
    database_url: &str,
) -> Result<Option<sqlx::PgConnection>, StartupError> {
    let Some(mut conn) = postgres_connection(database_url).await? else {
        return Ok(None);
    };
    sqlx::query("SELECT pg_advisory_lock_shared($1)")
        .bind(SERVERS_LOCK)
        .execute(&mut conn)
        .await?;
    Ok(Some(conn))
}

/// On PostgreSQL, the connection holding the servers' lock alone (no server runs, none starts
/// until it is closed); refused while a server runs. `None` on SQLite.
pub async fn alone_on_postgres(
    database_url: &str,
) -> Result<Option<sqlx::PgConnection>, StartupError> {
    let Some(mut conn) = postgres_connection(database_url).await? else {
        return Ok(None);
    };
    let alone: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(SERVERS_LOCK)
        .fetch_one(&mut conn)
        .await?;
    if !alone {
        return Err(StartupError::Config(
            "a server is running on this database: stop every server, then rotate".into(),
        ));
    }
    Ok(Some(conn))
}

pub fn hold_shared(database_url: &str) -> Result<Option<fs::File>, StartupError> {
    let Some(path) = lock_path(database_url) else {
        return Ok(None);
    };
    let file = open_lock(&path)?;
    // Waits while a rotation holds it exclusively: the server then starts with the new key.
    file.lock_shared()?;
    Ok(Some(file))
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
pub fn key_file_path(database_url: &str) -> Result<PathBuf, StartupError> {
    if app::db::Backend::of_url(database_url) == Some(app::db::Backend::Postgres) {
        return Err(StartupError::Config(
            "with PostgreSQL, set GATEHOUSE_MASTER_KEY, the same on every server: there is no \
             directory beside the database to keep a generated key in"
                .into(),
        ));
    }
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
