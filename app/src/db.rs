//! The database as every feature's server code sees it: one pool type for SQLite (the embedded
//! default) and PostgreSQL (several servers), chosen by the URL at start. Queries are written
//! once, in the SQL both accept: `$1` parameters, `TRUE`/`FALSE`, `ON CONFLICT`, `RETURNING`,
//! and the few functions PostgreSQL is given by its migrations (`unixepoch()`).

use sqlx::{Any, Transaction};

pub type Db = Any;
pub type Pool = sqlx::AnyPool;
pub type Conn = sqlx::AnyConnection;
pub type Tx = Transaction<'static, Any>;

/// Which database a pool talks to, where their SQL differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if it is one Gatehouse runs on.
    pub fn of_url(url: &str) -> Option<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }

    pub fn of(pool: &Pool) -> Self {
        Self::of_url(pool.connect_options().database_url.as_str()).unwrap_or(Self::Sqlite)
    }

    pub fn of_conn(conn: &Conn) -> Self {
        match conn.backend_name() {
            "PostgreSQL" => Self::Postgres,
            _ => Self::Sqlite,
        }
    }
}

/// The advisory lock every write transaction holds on PostgreSQL (an arbitrary number that
/// names Gatehouse's writes in `pg_locks`).
const WRITE_LOCK: i64 = 0x6761_7465_686f_7573;

/// Starts a write transaction, one at a time on the database, as every change was written for:
/// it reads what it is about to change (the last admin, the audit chain's head, the current key
/// of a slot) and counts on nobody changing it before it commits. On SQLite the write lock is
/// taken at once (a plain `BEGIN` takes it at the first write, where a concurrent writer makes
/// it fail with SQLITE_BUSY instead of waiting for the busy timeout); on PostgreSQL a
/// transaction-scoped advisory lock does the same across every server on the database, while
/// reads go on unhindered.
pub async fn begin_write(pool: &Pool) -> Result<Tx, sqlx::Error> {
    match Backend::of(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT count(*) FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// A stored yes/no: SQLite keeps it as an integer, PostgreSQL as a boolean, and a comparison
/// in a SELECT gives either. Read it as `Flag` (or with `#[sqlx(try_from = "Flag")]` into a
/// `bool` field) and bind a plain `bool`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

impl sqlx::Type<Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <bool as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        use sqlx::any::AnyTypeInfoKind as Kind;
        matches!(
            ty.kind(),
            Kind::Bool | Kind::SmallInt | Kind::Integer | Kind::BigInt
        )
    }
}

impl<'r> sqlx::Decode<'r, Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        use sqlx::ValueRef;
        let kind = value.type_info().kind();
        if kind == sqlx::any::AnyTypeInfoKind::Bool {
            return <bool as sqlx::Decode<Any>>::decode(value).map(Flag);
        }
        <i64 as sqlx::Decode<Any>>::decode(value).map(|n| Flag(n != 0))
    }
}

/// The session-level advisory lock held by the one server that does the database's
/// background work.
const SINGLETON_LOCK: i64 = 0x6761_7465_686f_7574;

/// Background work that must happen once per database, not once per server (sweeping expired
/// Lockbox requests, pruning, checkpoints, checking the vault, streaming the audit log): on
/// PostgreSQL, the server holding an advisory lock on a connection of its own does it, and
/// when that server stops (its connection closes, even on `kill -9`) the next one to ask takes
/// over. On SQLite, which is one server's, every call holds.
pub struct Singleton {
    /// PostgreSQL's URL; `None` on SQLite.
    url: Option<String>,
    conn: tokio::sync::Mutex<(Option<sqlx::PgConnection>, bool)>,
}

impl std::fmt::Debug for Singleton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Singleton").finish_non_exhaustive()
    }
}

impl Singleton {
    pub fn new(pool: &Pool) -> Self {
        let url = (Backend::of(pool) == Backend::Postgres)
            .then(|| pool.connect_options().database_url.to_string());
        Self {
            url,
            conn: tokio::sync::Mutex::new((None, false)),
        }
    }

    /// Whether this server does the database's background work now (taking it over when
    /// nobody does).
    pub async fn holds(&self) -> bool {
        use sqlx::Connection;
        let Some(url) = &self.url else {
            return true;
        };
        let mut guard = self.conn.lock().await;
        let (conn, held) = &mut *guard;
        if let Some(c) = conn.as_mut() {
            if sqlx::query("SELECT 1").execute(&mut *c).await.is_err() {
                // Gone, and the lock with it.
                (*conn, *held) = (None, false);
            } else if *held {
                return true;
            }
        }
        if conn.is_none() {
            *conn = sqlx::PgConnection::connect(url).await.ok();
        }
        let Some(c) = conn.as_mut() else {
            return false;
        };
        *held = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(SINGLETON_LOCK)
            .fetch_one(&mut *c)
            .await
            .unwrap_or(false);
        *held
    }
}

/// The PostgreSQL channel on which a write tells every server what to read again.
pub const CHANGES_CHANNEL: &str = "gatehouse_changes";

/// What a server holds in memory and another server's write can make stale.
pub mod topic {
    /// The API key ring (`api_keys::ssr::ApiKeys`).
    pub const API_KEYS: &str = "api_keys";
}

/// Tells every server on the database, once this transaction commits, that `topic` changed
/// (PostgreSQL `NOTIFY`, delivered at commit and not at all on rollback). SQLite has one
/// server: nothing to tell.
pub async fn notify(conn: &mut Conn, topic: &str) -> Result<(), sqlx::Error> {
    if Backend::of_conn(conn) == Backend::Postgres {
        sqlx::query("SELECT count(*) FROM (SELECT pg_notify($1, $2)) AS sent")
            .bind(CHANGES_CHANNEL)
            .bind(topic)
            .execute(conn)
            .await?;
    }
    Ok(())
}
