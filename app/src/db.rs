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
