//! `gatehouse backup --to PATH`: a consistent copy of the SQLite database while servers keep
//! running. SQLite's `VACUUM INTO` reads one snapshot (a read transaction in WAL mode, so
//! writers go on) and writes it as a new database; it is written under a temporary name beside
//! the target, with mode 0600, and renamed once complete, so a half-written backup never has
//! the backup's name.

use super::sqlite_only;
use crate::{config::Config, db, error::StartupError};
use serde::Serialize;
use std::{
    fs,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

/// The tables whose rows a backup reports (and the tests compare).
const COUNTED: [&str; 7] = [
    "principals",
    "audit_log",
    "api_keys",
    "lockbox_requests",
    "connections",
    "embed_origins",
    "invitations",
];

/// What a finished backup holds.
#[derive(Debug, Serialize)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    /// Rows per table, in `COUNTED`'s order.
    pub rows: Vec<(&'static str, i64)>,
}

impl std::fmt::Display for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "backup written: {} ({} bytes)",
            self.path.display(),
            self.bytes
        )?;
        for (table, n) in &self.rows {
            writeln!(f, "  {table}: {n} rows")?;
        }
        write!(
            f,
            "Back up the master key (GATEHOUSE_MASTER_KEY or the gatehouse.key file) separately: the backup's secrets open only with it."
        )
    }
}

pub async fn backup(config: &Config, to: &Path, force: bool) -> Result<Backup, StartupError> {
    sqlite_only(config, "backup", "use pg_dump")?;
    if to.exists() && !force {
        return Err(StartupError::Config(format!(
            "{} exists; pass --force to replace it",
            to.display()
        )));
    }
    let dir = to
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = to
        .file_name()
        .ok_or_else(|| StartupError::Config("--to must name a file".into()))?;
    let partial = dir.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    // An empty file, private from the start: VACUUM INTO writes into it (an empty target is
    // allowed) and keeps its mode.
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    let written = write_copy(config, &partial).await;
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    let rows = match check_copy(&partial).await {
        Ok(rows) => rows,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
    };
    fs::rename(&partial, to)?;
    // The rename is durable once the directory is.
    fs::File::open(dir)?.sync_all()?;
    Ok(Backup {
        path: to.to_owned(),
        bytes: fs::metadata(to)?.len(),
        rows,
    })
}

async fn write_copy(config: &Config, partial: &Path) -> Result<(), StartupError> {
    let pool = db::connect(&config.database_url, None).await?;
    let target = partial
        .to_str()
        .ok_or_else(|| StartupError::Config("the backup's path must be UTF-8".into()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok(())
}

/// Opens the copy on its own, checks it (`PRAGMA integrity_check`) and counts its rows.
async fn check_copy(partial: &Path) -> Result<Vec<(&'static str, i64)>, StartupError> {
    use sqlx::{ConnectOptions, sqlite::SqliteConnectOptions};
    let mut conn = SqliteConnectOptions::new()
        .filename(partial)
        .read_only(true)
        .connect()
        .await?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    if verdict != "ok" {
        return Err(StartupError::Config(format!(
            "the copy failed its integrity check ({verdict}); nothing was written"
        )));
    }
    let mut rows = Vec::with_capacity(COUNTED.len());
    for table in COUNTED {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await?;
        rows.push((table, n));
    }
    Ok(rows)
}
