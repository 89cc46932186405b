//! Writing the audit log, and reading it back for the view and the CSV export.

use super::{AUDIT_PAGE_SIZE, AuditEntry, AuditPage};
use crate::db::{Conn, Pool};
use crate::{error::AppError, roles::UserInfo, text::escape_invisible, time_fmt::rfc3339};

/// One entry. `target` is whom or what the change was about (an email, a principal's ID);
/// `detail` adds what changed (a role, a key slot), never a secret value.
pub struct Entry<'a> {
    pub actor: Option<&'a UserInfo>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: &'a str,
    pub client_addr: Option<&'a str>,
}

/// Writes `entry` on `conn`, inside the caller's transaction when there is one, so that the
/// change and its record commit together.
/// The entry is appended to the tamper-evident chain (`super::chain`).
pub async fn record(conn: &mut Conn, entry: Entry<'_>) -> Result<(), AppError> {
    // Shown as typed, never as a direction change: invisible characters are written escaped.
    let target = entry.target.map(escape_invisible);
    let detail = escape_invisible(entry.detail);
    super::chain::append(
        conn,
        super::chain::Fields {
            seq: 0,
            at: crate::time_fmt::unix_now(),
            actor_id: entry.actor.map(|a| a.id),
            actor_email: entry.actor.map(|a| a.email.as_str()),
            action: entry.action,
            target: target.as_deref(),
            detail: &detail,
            client_addr: entry.client_addr,
        },
    )
    .await
}

const COLUMNS: &str =
    "SELECT id, at, actor_email, action, target, detail, client_addr FROM audit_log";

type Row = (
    i64,
    i64,
    Option<String>,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn entry(row: Row) -> AuditEntry {
    let (id, at, actor, action, target, detail, client_addr) = row;
    // Rows from before escaping was done on write are escaped on the way out as well.
    let escaped = |t: String| escape_invisible(&t).into_owned();
    AuditEntry {
        id,
        at,
        actor: actor.map(escaped),
        action,
        target: target.map(escaped),
        detail: escaped(detail),
        client_addr,
    }
}

pub async fn page(pool: &Pool, page: u32) -> Result<AuditPage, AppError> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{COLUMNS} ORDER BY id DESC LIMIT $1 OFFSET $2"))
        // One more than a page: its presence says whether there is a next page.
        .bind(i64::from(AUDIT_PAGE_SIZE) + 1)
        .bind(i64::from(page - 1) * i64::from(AUDIT_PAGE_SIZE))
        .fetch_all(pool)
        .await?;
    let has_next = rows.len() > AUDIT_PAGE_SIZE as usize;
    Ok(AuditPage {
        entries: rows
            .into_iter()
            .take(AUDIT_PAGE_SIZE as usize)
            .map(entry)
            .collect(),
        page,
        has_next,
    })
}

/// The CSV export's first line.
pub const CSV_HEADER: &str = "time_utc,actor,action,target,detail,client_address\r\n";

/// Rows after `after_id` as CSV lines (RFC 4180), oldest first, at most `limit`; with the last
/// row's id, for the next page. The export streams these pages instead of building the whole
/// file in memory.
pub async fn csv_page(
    pool: &Pool,
    after_id: i64,
    limit: i64,
) -> Result<(String, Option<i64>), AppError> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE id > $1 ORDER BY id LIMIT $2"))
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    let last = rows.last().map(|r| r.0);
    let mut out = String::new();
    for e in rows.into_iter().map(entry) {
        let cells = [
            rfc3339(e.at),
            e.actor.unwrap_or_default(),
            e.action,
            e.target.unwrap_or_default(),
            e.detail,
            e.client_addr.unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok((out, last))
}

/// Deletes entries older than `days`, oldest first and a batch at a time so that writers never
/// wait long; each batch moves the chain's anchor to its last entry in the same transaction,
/// so that what remains still verifies. Returns how many went.
pub async fn prune(pool: &Pool, days: i64) -> Result<u64, AppError> {
    let cutoff = crate::time_fmt::unix_now() - days * 86_400;
    let mut total = 0;
    loop {
        let mut tx = crate::db::begin_write(pool).await?;
        // The chain runs in sequence order: only a run from its start can go.
        let oldest: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT seq, at FROM audit_log WHERE seq IS NOT NULL ORDER BY seq LIMIT 5000",
        )
        .fetch_all(&mut *tx)
        .await?;
        let last = oldest
            .iter()
            .take_while(|(_, at)| *at < cutoff)
            .last()
            .map(|(seq, _)| *seq);
        let Some(last) = last else {
            return Ok(total);
        };
        super::chain::anchor_at(&mut tx, last).await?;
        let deleted = sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
            .bind(last)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        total += deleted;
        if deleted < 5000 {
            return Ok(total);
        }
    }
}

/// Quotes a cell, and defuses text a spreadsheet would run as a formula: failed sign-ins record
/// whatever address an attacker typed.
fn csv_cell(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "\"plain\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_cell("a,b\nc"), "\"a,b\nc\"");
    }
}
