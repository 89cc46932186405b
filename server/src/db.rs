//! The SQLite pool: WAL so that readers never wait for the writer, foreign keys on, and a busy
//! timeout so that concurrent writers queue instead of failing.

use crate::error::StartupError;
use app::audit::chain::{self, AuditKey};
use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use std::{str::FromStr, time::Duration};

/// `audit`: the audit chain's key, given to every connection as it opens (see
/// `app::audit::chain::install`); `None` for a command that writes no audit entry.
pub async fn connect(url: &str, audit: Option<AuditKey>) -> Result<SqlitePool, StartupError> {
    let scheme = url
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if scheme != "sqlite" {
        return Err(StartupError::Config(format!(
            "GATEHOUSE_DATABASE_URL: {scheme}:// is not supported yet; use sqlite://path/to/gatehouse.db"
        )));
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across application crashes in WAL mode, and much faster than FULL.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // Pages read through a memory map, not copied in by a system call each: a search that
        // looks up a few thousand principals takes half the time at a million (1 GiB is
        // address space, not memory; a larger file reads the rest the usual way).
        .pragma("mmap_size", (1_u64 << 30).to_string());
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if let Some(key) = &audit {
                    chain::install(conn, key).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}
