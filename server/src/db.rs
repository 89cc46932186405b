//! Opening the database named by `GATEHOUSE_DATABASE_URL`: SQLite (the embedded default) or
//! PostgreSQL (for several servers on one database), each with its own migrations
//! (`migrations/sqlite`, `migrations/postgres`), and the session store on the same database.
//!
//! SQLite: WAL so that readers never wait for the writer, foreign keys on, and a busy timeout
//! so that concurrent writers queue instead of failing. PostgreSQL: migrations run under an
//! advisory lock, so servers started at the same moment apply them once.

use crate::error::StartupError;
use app::{
    audit::chain::{self, AuditKey},
    db::{Backend, Pool},
};
use sqlx::{
    any::AnyPoolOptions,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use std::{str::FromStr, time::Duration};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Connections per server: SQLite has one writer anyway; PostgreSQL's default limit of 100
/// connections leaves room for several servers and the operator's tools.
const MAX_CONNECTIONS: u32 = 8;
/// How long a request waits for a connection (or for the database to answer a connect)
/// before it is told that the database cannot be reached.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

fn backend(url: &str) -> Result<Backend, StartupError> {
    Backend::of_url(url).ok_or_else(|| {
        let scheme = url.split(':').next().unwrap_or_default();
        StartupError::Config(format!(
            "GATEHOUSE_DATABASE_URL: {scheme}:// is not a database Gatehouse runs on; use \
             sqlite://path/to/gatehouse.db or postgres://user@host/database"
        ))
    })
}

/// SQLite's settings that its URL cannot carry, as statements run on every new connection.
const SQLITE_PRAGMAS: [&str; 4] = [
    "PRAGMA journal_mode = WAL",
    // NORMAL is durable across application crashes in WAL mode, and much faster than FULL.
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    // Pages read through a memory map, not copied in by a system call each (1 GiB is address
    // space, not memory; a larger file reads the rest the usual way).
    "PRAGMA mmap_size = 1073741824",
];

/// `audit`: the audit chain's key, given to every connection as it opens (see
/// `app::audit::chain::install`); `None` for a command that writes no audit entry.
pub async fn connect(url: &str, audit: Option<AuditKey>) -> Result<Pool, StartupError> {
    sqlx::any::install_default_drivers();
    let backend = backend(url)?;
    let url = match backend {
        // Created when missing, as the embedded default should be.
        Backend::Sqlite if !url.contains("mode=") => {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        }
        _ => url.to_owned(),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    for pragma in SQLITE_PRAGMAS {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                }
                if let Some(key) = &audit {
                    chain::install(conn, key).await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
        Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
    }
    Ok(pool)
}

/// The session store: the crate's SQLite or PostgreSQL store, on a small pool of its own to
/// the same database, in the `sessions` table.
#[derive(Clone, Debug)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    pub async fn open(url: &str) -> Result<Self, StartupError> {
        let store = match backend(url)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await?;
                Self::Sqlite(
                    SqliteStore::new(pool)
                        .with_table_name("sessions")
                        .map_err(StartupError::Config)?,
                )
            }
            Backend::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect(url)
                    .await?;
                Self::Postgres(
                    PostgresStore::new(pool)
                        .with_schema_name("public")
                        .and_then(|s| s.with_table_name("sessions"))
                        .map_err(StartupError::Config)?,
                )
            }
        };
        Ok(store)
    }

    /// Creates the session table when missing.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(s) => s.migrate().await,
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// On PostgreSQL, what other servers' writes make stale in this one is read again as soon as
/// their transaction commits (`LISTEN`; `app::db::notify` sends). The periodic re-reads stay as
/// the fallback, and after the listening connection was lost and made again everything is read
/// again, since notifications in between are gone.
pub async fn follow_changes(url: String, ctx: app::context::AppContext) {
    use sqlx::postgres::PgListener;
    let reload_keys = || async {
        if let Err(e) = app::api_keys::ssr::store::reload(&ctx.api_keys, &ctx.pool).await {
            tracing::warn!(error = %e, "could not reload API keys");
        }
    };
    loop {
        let listening = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(app::db::CHANGES_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match listening.await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "could not listen for other servers' changes");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        reload_keys().await;
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) if note.payload() == app::db::topic::API_KEYS => reload_keys().await,
                Ok(Some(_)) => {}
                // The connection was lost; the next call makes it again and listens anew.
                Ok(None) => reload_keys().await,
                Err(e) => {
                    tracing::warn!(error = %e, "lost the connection that listens for changes");
                    break;
                }
            }
        }
    }
}
