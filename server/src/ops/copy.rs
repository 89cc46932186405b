//! `gatehouse copy-data --from sqlite://gatehouse.db --to postgres://…`: moving an installation
//! to PostgreSQL. Every table is copied row for row, ids, sealed values and the audit chain's
//! MACs as they are, so the same master key opens the same secrets and the chain verifies; the
//! target must be empty, and the row counts are checked at the end. Sessions are not copied:
//! everyone signs in again.

use crate::{db, error::StartupError};
use app::db::{Flag, Pool};
use sqlx::Row;
use std::fmt;

/// Every table with rows to move, parents before children.
const TABLES: [&str; 23] = [
    "environment",
    "api_settings",
    "master_key_check",
    "api_keys",
    "principals",
    "group_members",
    "invitations",
    "lockbox_policy",
    "lockbox_requests",
    "lockbox_approvals",
    "lockbox_events",
    "lockbox_pending_changes",
    "key_vault",
    "connections",
    "provisioning_token",
    "embed_origins",
    "embed_secret",
    "embed_token_uses",
    "embed_sessions",
    "audit_anchor",
    "audit_log",
    "audit_destinations",
    "sso_settings",
];
/// Rows a statement inserts: PostgreSQL takes at most 65,535 parameters in one.
const BATCH: usize = 200;

/// What was copied: each table's rows, equal in both databases.
#[derive(Debug)]
pub struct Copied {
    pub tables: Vec<(&'static str, i64)>,
}

impl fmt::Display for Copied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "copied, and the row counts match:")?;
        for (table, rows) in &self.tables {
            writeln!(f, "  {table}: {rows}")?;
        }
        write!(
            f,
            "start the servers on the new database with the same GATEHOUSE_MASTER_KEY \
             (or the key in the gatehouse.key file beside the SQLite database)"
        )
    }
}

/// How a column's values are read from the source and written to the target.
#[derive(Clone, Copy)]
enum Kind {
    Integer,
    Flag,
    Bytes,
    Text,
}

async fn columns(target: &Pool, table: &str) -> Result<Vec<(String, Kind)>, StartupError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(target)
    .await?;
    rows.into_iter()
        .map(|(name, ty)| {
            let kind = match ty.as_str() {
                "bigint" | "integer" | "smallint" => Kind::Integer,
                "boolean" => Kind::Flag,
                "bytea" => Kind::Bytes,
                "text" | "character varying" => Kind::Text,
                other => {
                    return Err(StartupError::Config(format!(
                        "{table}.{name} has the type {other}, which copy-data does not know"
                    )));
                }
            };
            Ok((name, kind))
        })
        .collect()
}

async fn count(pool: &Pool, table: &str) -> Result<i64, StartupError> {
    Ok(sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await?)
}

pub async fn copy_data(from: &str, to: &str) -> Result<Copied, StartupError> {
    if app::db::Backend::of_url(to) != Some(app::db::Backend::Postgres) {
        return Err(StartupError::Config(
            "--to: copy-data moves an installation to PostgreSQL (postgres://…)".into(),
        ));
    }
    let source = db::connect(from, None).await?;
    let target = db::connect(to, None).await?;
    for table in ["principals", "audit_log", "api_keys", "connections"] {
        if count(&target, table).await? > 0 {
            return Err(StartupError::Config(format!(
                "--to: the target database is not empty ({table} has rows); copy-data fills a \
                 new, empty database only"
            )));
        }
    }
    let mut tx = app::db::begin_write(&target).await?;
    // The rows a new database starts with (the environment, default settings, the chain's
    // anchor) give way to the source's.
    for table in TABLES.iter().rev() {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    for table in TABLES {
        let columns = columns(&target, table).await?;
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let select = format!("SELECT {} FROM {table}", names.join(", "));
        let rows = sqlx::query(&select).fetch_all(&source).await?;
        for batch in rows.chunks(BATCH) {
            let mut values = Vec::with_capacity(batch.len());
            for r in 0..batch.len() {
                let params: Vec<String> = (1..=names.len())
                    .map(|c| format!("${}", r * names.len() + c))
                    .collect();
                values.push(format!("({})", params.join(", ")));
            }
            let insert = format!(
                "INSERT INTO {table} ({}) VALUES {}",
                names.join(", "),
                values.join(", ")
            );
            let mut query = sqlx::query(&insert);
            for row in batch {
                for (i, (_, kind)) in columns.iter().enumerate() {
                    query = match kind {
                        Kind::Integer => query.bind(row.try_get::<Option<i64>, _>(i)?),
                        Kind::Flag => query.bind(row.try_get::<Option<Flag>, _>(i)?.map(|f| f.0)),
                        Kind::Bytes => query.bind(row.try_get::<Option<Vec<u8>>, _>(i)?),
                        Kind::Text => query.bind(row.try_get::<Option<String>, _>(i)?),
                    };
                }
            }
            query.execute(&mut *tx).await?;
        }
        if names.contains(&"id") {
            // Ids were copied as they are: new rows continue after them.
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, \
                 false) FROM {table}"
            ))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    let mut tables = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let (here, there) = (count(&source, table).await?, count(&target, table).await?);
        if here != there {
            return Err(StartupError::Config(format!(
                "{table}: {here} rows in the source, {there} in the target; the copy is incomplete"
            )));
        }
        tables.push((table, there));
    }
    source.close().await;
    target.close().await;
    Ok(Copied { tables })
}
