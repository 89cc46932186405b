//! The principals list in two indexed queries (the match count, capped; a page of rows): search
//! any part of the name or the email/ID, sort on any column (ties broken by the unique
//! email/ID, so pages never overlap), page by cursor (keyset), so that no page costs more than
//! the first. `scripts/bench-principals.sh` times each case at a million principals.

use super::{GROUP_ROLE, parse_role};
use crate::{
    error::AppError,
    users::{COUNT_CAP, ListQuery, PAGE_SIZE, Principal, PrincipalKind, PrincipalPage, SortKey},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sqlx::{SqliteConnection, SqlitePool};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    kind: String,
    name: String,
    handle: String,
    role: String,
    group_role: Option<String>,
    pending: bool,
    members: Option<i64>,
    lockbox_approver: bool,
    active: bool,
}

impl TryFrom<Row> for Principal {
    type Error = AppError;

    fn try_from(row: Row) -> Result<Self, AppError> {
        let kind = PrincipalKind::parse(&row.kind)
            .ok_or_else(|| AppError::internal(format!("principal {} has unknown kind", row.id)))?;
        let role = parse_role(&row.role)?;
        let via_group = row.group_role.as_deref().map(parse_role).transpose()?;
        Ok(Principal {
            id: row.id,
            kind,
            name: row.name,
            email_or_id: row.handle,
            role,
            effective_role: via_group.map_or(role, |g| g.max(role)),
            pending: row.pending,
            members: row.members,
            lockbox_approver: row.lockbox_approver,
            active: row.active,
        })
    }
}

/// The columns of a list row. Its subqueries are costly per row, so `page` picks the page's
/// ids first and only those rows get them.
fn select() -> String {
    format!(
        "SELECT p.id, p.kind, p.name, p.handle, p.role, \
         CASE WHEN p.kind = 'user' THEN {GROUP_ROLE} END AS group_role, \
         (p.kind = 'user' AND p.password_hash IS NULL) AS pending, \
         CASE WHEN p.kind = 'group' THEN \
             (SELECT COUNT(*) FROM group_members m WHERE m.group_id = p.id) END AS members, \
         p.lockbox_approver, p.active \
         FROM principals p"
    )
}

/// How many matches a search counts before it stops (and says "more than"), and the line
/// between its two plans: up to this many, the matches are fetched through an index and
/// sorted (a few milliseconds at most); beyond it they are dense enough that walking the
/// sort's index and testing each entry finds a page sooner.
const CANDIDATES: i64 = COUNT_CAP;

/// A search, as the database runs it. Queries of three characters or more match any part of
/// the name or the email/ID through the trigram index (`principals_search`); shorter ones match
/// a prefix, as ranges on the NOCASE indexes.
struct Search {
    /// The condition on `p`, or none for the whole list.
    filter: Option<String>,
    binds: Vec<String>,
    total: i64,
    capped: bool,
}

/// `name` or `handle` starts with `?1`: every string with that prefix sorts from the prefix
/// (`?1`) to below the prefix followed by the highest code point (`?2`). `+` hides the
/// columns from the planner when the page is to come from walking the sort's index instead.
fn prefix(plus: &str) -> String {
    format!(
        "(({plus}p.name >= ?1 AND {plus}p.name < ?2) OR ({plus}p.handle >= ?1 AND {plus}p.handle < ?2))"
    )
}

/// Finds up to `CANDIDATES + 1` matches (cheap either way) and picks the plan from how many.
async fn plan(conn: &mut SqliteConnection, q: &str) -> Result<Search, AppError> {
    if q.is_empty() {
        let total = sqlx::query_scalar("SELECT n FROM principal_count WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        return Ok(Search {
            filter: None,
            binds: Vec::new(),
            total,
            capped: false,
        });
    }
    let limit = CANDIDATES + 1;
    let (ids_sql, binds) = if q.chars().count() < 3 {
        (
            format!(
                "SELECT p.id FROM principals p WHERE {} LIMIT {limit}",
                prefix("")
            ),
            vec![q.to_owned(), format!("{q}{}", char::MAX)],
        )
    } else {
        (
            // Straight from the index: as `p.id IN (…)`, SQLite would collect every match
            // before the LIMIT applies (tens of milliseconds for a common domain).
            format!(
                "SELECT rowid FROM principals_search WHERE principals_search MATCH ?1 LIMIT {limit}"
            ),
            // One phrase: the trigrams of the whole query, in order, i.e. a substring.
            vec![format!("\"{}\"", q.replace('"', "\"\""))],
        )
    };
    let mut ids = sqlx::query_scalar::<_, i64>(&ids_sql);
    for b in &binds {
        ids = ids.bind(b);
    }
    let ids = ids.fetch_all(&mut *conn).await?;
    let found = ids.len() as i64;
    let dense = found > CANDIDATES;
    let (filter, binds) = match (q.chars().count() < 3, dense) {
        // The matches found above, handed back rather than searched for again.
        (_, false) => (
            "p.id IN (SELECT value FROM json_each(?1))".to_owned(),
            vec![serde_json::to_string(&ids).unwrap_or_default()],
        ),
        (true, true) => (prefix("+"), binds),
        // LIKE tests an index entry three times faster than instr(lower(…)). It folds ASCII
        // case only, so a dense search for a non-ASCII capital can miss rows that the trigram
        // index would find; a sparse one (the common case) cannot.
        (false, true) => (
            "(p.name LIKE ?1 ESCAPE '\\' OR p.handle LIKE ?1 ESCAPE '\\')".to_owned(),
            vec![format!("%{}%", escape_like(q))],
        ),
    };
    Ok(Search {
        filter: Some(filter),
        binds,
        total: found.min(CANDIDATES),
        capped: dense,
    })
}

/// `q` as a LIKE pattern's literal text.
fn escape_like(q: &str) -> String {
    let mut escaped = String::with_capacity(q.len());
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The sort's columns, each matching an index's column order exactly; the handle is unique, so
/// it settles every tie and a cursor names one place in the order.
fn sort_columns(key: SortKey) -> &'static [&'static str] {
    match key {
        SortKey::Name => &["p.name", "p.handle"],
        SortKey::Email => &["p.handle"],
        SortKey::Type => &["p.kind", "p.name", "p.handle"],
        SortKey::Role => &["p.role", "p.name", "p.handle"],
    }
}

/// A row's place in a sort, as `sort_columns` lists them.
fn sort_values(key: SortKey, p: &Principal) -> Vec<&str> {
    let (name, handle) = (p.name.as_str(), p.email_or_id.as_str());
    match key {
        SortKey::Name => vec![name, handle],
        SortKey::Email => vec![handle],
        SortKey::Type => vec![p.kind.as_str(), name, handle],
        SortKey::Role => vec![p.role.as_str(), name, handle],
    }
}

/// A cursor is the sort values of a row, as a JSON array in base64url: opaque in a link, but
/// needing no lookup, and still valid when that row has been removed since.
pub fn cursor(key: SortKey, p: &Principal) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&sort_values(key, p)).unwrap_or_default())
}

fn decode_cursor(cursor: &str, key: SortKey, field: &str) -> Result<Vec<String>, AppError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|json| serde_json::from_slice::<Vec<String>>(&json).ok())
        .filter(|values| values.len() == sort_columns(key).len())
        .ok_or_else(|| {
            AppError::invalid(
                field,
                "This is not a page of this list: start again from the first page.",
            )
        })
}

pub async fn page(pool: &SqlitePool, query: &ListQuery) -> Result<PrincipalPage, AppError> {
    let columns = sort_columns(query.sort);
    let mut from = match (&query.after, &query.before) {
        (Some(c), _) => Some((decode_cursor(c, query.sort, "after")?, false)),
        (None, Some(c)) => Some((decode_cursor(c, query.sort, "before")?, true)),
        (None, None) => None,
    };
    let mut conn = pool.acquire().await?;
    let search = plan(&mut conn, &query.q).await?;
    loop {
        let backward = from.as_ref().is_some_and(|(_, back)| *back);
        // Backward pages are read in the opposite order, then turned round.
        let ascending = query.descending == backward;
        let mut conditions: Vec<String> = search.filter.iter().cloned().collect();
        let mut binds = search.binds.clone();
        if let Some((values, _)) = &from {
            let first = binds.len() + 1;
            let params: Vec<String> = (first..first + values.len())
                .map(|i| format!("?{i}"))
                .collect();
            conditions.push(format!(
                "({}) {} ({})",
                columns.join(", "),
                if ascending { ">" } else { "<" },
                params.join(", ")
            ));
            binds.extend(values.iter().cloned());
        }
        let dir = if ascending { "ASC" } else { "DESC" };
        let order: Vec<String> = columns.iter().map(|c| format!("{c} {dir}")).collect();
        let order = order.join(", ");
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        // The page's ids come from the index alone; only those rows get the costly columns.
        let sql = format!(
            "{} WHERE p.id IN (SELECT p.id FROM principals p {filter} ORDER BY {order} LIMIT {}) \
             ORDER BY {order}",
            select(),
            PAGE_SIZE + 1
        );
        let mut rows = sqlx::query_as::<_, Row>(&sql);
        for b in &binds {
            rows = rows.bind(b);
        }
        let rows = rows.fetch_all(&mut *conn).await?;
        // A stale link (its rows removed since): show the first page rather than nothing.
        if rows.is_empty() && from.is_some() {
            from = None;
            continue;
        }
        let more = rows.len() > PAGE_SIZE as usize;
        let mut principals: Vec<Principal> = rows
            .into_iter()
            .take(PAGE_SIZE as usize)
            .map(Principal::try_from)
            .collect::<Result<_, _>>()?;
        if backward {
            principals.reverse();
        }
        let cursor_of = |p: Option<&Principal>| p.map(|p| cursor(query.sort, p));
        let (next, previous) = if backward {
            (
                cursor_of(principals.last()),
                more.then(|| cursor_of(principals.first())).flatten(),
            )
        } else {
            (
                more.then(|| cursor_of(principals.last())).flatten(),
                from.is_some()
                    .then(|| cursor_of(principals.first()))
                    .flatten(),
            )
        };
        return Ok(PrincipalPage {
            principals,
            page_size: PAGE_SIZE,
            total: search.total,
            total_capped: search.capped,
            next,
            previous,
        });
    }
}

/// Background upkeep of the trigram index: merges some of its segments (at most about 500
/// pages a call, so the write lock is short). Inserts add small segments; fewer, larger ones
/// make every search cheaper (half the time at a million principals). Once merged it is a
/// no-op.
pub async fn tidy_search_index(pool: &SqlitePool) -> Result<(), AppError> {
    sqlx::query("INSERT INTO principals_search (principals_search, rank) VALUES ('merge', -500)")
        .execute(pool)
        .await?;
    Ok(())
}

/// One principal as a list row.
pub async fn one(conn: &mut SqliteConnection, id: i64) -> Result<Principal, AppError> {
    let row: Option<Row> = sqlx::query_as(&format!("{} WHERE p.id = ?1", select()))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.ok_or(AppError::NotFound)?.try_into()
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_in_a_search_are_text() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
    }
}
