//! Database helpers shared by every feature's server code.

use sqlx::{Sqlite, SqlitePool, Transaction};

/// Starts a write transaction that takes SQLite's write lock at once. A plain `BEGIN` takes it
/// at the first write, where a concurrent writer makes it fail with SQLITE_BUSY instead of
/// waiting for the busy timeout.
pub async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}
