//! The principals list: a search's matches (`search`), sorted on any column (ties broken by the
//! unique email/ID, so pages never overlap) and paged by cursor (keyset), so that no page costs
//! more than the first. `scripts/bench-principals.sh` times each case at a million principals.

use super::{
    GROUP_ROLE,
    memory::{Memory, fold},
    order::{self, Key, Want},
    parse_role,
    search::{self, Source},
};
use crate::{
    error::AppError,
    users::{ListQuery, PAGE_SIZE, Principal, PrincipalKind, PrincipalPage, SortKey},
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
    support_application: bool,
    approver_waiting: bool,
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
            support_application: row.support_application,
            approver_waiting: row.approver_waiting,
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
         p.lockbox_approver, p.active, p.support_application, \
         (p.kind = 'user' AND EXISTS (SELECT 1 FROM lockbox_pending_changes c \
             WHERE c.status = 'pending' AND c.kind = 'grant_approver' \
             AND json_extract(c.payload, '$.user_id') = p.id)) AS approver_waiting \
         FROM principals p"
    )
}

/// The index each sort reads in order (migration 0003). Named, so that the planner never
/// trades it for a range on another index that would then have to be sorted.
fn sort_index(key: SortKey) -> &'static str {
    match key {
        SortKey::Name => "principals_name",
        SortKey::Email => "principals_handle",
        SortKey::Type => "principals_kind",
        SortKey::Role => "principals_role",
    }
}

/// A row's place in a sort, as `order::columns` lists them.
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
        .filter(|values| values.len() == order::columns(key).len())
        .ok_or_else(|| {
            AppError::invalid(
                field,
                "This is not a page of this list: start again from the first page.",
            )
        })
}

/// The sort values of a key, in the sort's column order, folded as NOCASE compares them (ASCII
/// letters only; kinds and roles are lower-case words already): rows known in memory are
/// ordered exactly as the database orders the rows it reads.
fn folded(key: SortKey, k: &Key) -> Vec<Vec<u8>> {
    let values: Vec<&str> = match key {
        SortKey::Name => vec![&k.name, &k.handle],
        SortKey::Email => vec![&k.handle],
        SortKey::Type => vec![&k.kind, &k.name, &k.handle],
        SortKey::Role => vec![&k.role, &k.name, &k.handle],
    };
    values.into_iter().map(fold).collect()
}

/// Up to `PAGE_SIZE + 1` rows of one source, in the page's order, past the cursor.
async fn read(
    conn: &mut SqliteConnection,
    source: &Source,
    want: Want<'_>,
) -> Result<Vec<Key>, AppError> {
    let Want {
        sort: key,
        ascending,
        from,
    } = want;
    let limit = PAGE_SIZE as usize + 1;
    let past = |order: std::cmp::Ordering| {
        if ascending {
            order.is_gt()
        } else {
            order.is_lt()
        }
    };
    match source {
        Source::Known(keys) => {
            let cursor: Option<Vec<Vec<u8>>> = from.map(|v| v.iter().map(|s| fold(s)).collect());
            let mut rows: Vec<(Vec<Vec<u8>>, &Key)> = keys
                .iter()
                .map(|k| (folded(key, k), k))
                .filter(|(values, _)| cursor.as_ref().is_none_or(|c| past(values.cmp(c))))
                .collect();
            rows.sort_by(|a, b| {
                if ascending {
                    a.0.cmp(&b.0)
                } else {
                    b.0.cmp(&a.0)
                }
            });
            Ok(rows
                .into_iter()
                .take(limit)
                .map(|(_, k)| k.clone())
                .collect())
        }
        Source::Walk {
            filter,
            binds,
            lead,
            index,
        } => {
            let mut columns = order::columns(key);
            let mut binds = binds.clone();
            let mut conditions: Vec<String> = filter.iter().cloned().collect();
            let mut from = from.map(<[String]>::to_vec);
            if let Some(lead) = lead {
                // One kind or role: its rows lie together in the index, sorted by the other
                // columns; the cursor applies only within the same kind or role.
                if let Some(values) = from.take() {
                    let side = fold(lead).cmp(&fold(&values[0]));
                    if side.is_ne() && !past(side) {
                        return Ok(Vec::new());
                    }
                    if side.is_eq() {
                        from = Some(values[1..].to_vec());
                    }
                }
                binds.push((*lead).to_owned());
                conditions.push(format!("{} = ?{}", columns[0], binds.len()));
                columns = &columns[1..];
            }
            if let Some(values) = &from {
                conditions.push(order::past(columns, ascending, binds.len() + 1));
                binds.extend(values.iter().cloned());
            }
            let filter = if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            };
            let sql = format!(
                "SELECT p.id, p.kind, p.name, p.handle, p.role \
                 FROM principals p INDEXED BY {} {filter} ORDER BY {} LIMIT {limit}",
                index.unwrap_or(sort_index(key)),
                order::order_by(columns, ascending)
            );
            let mut rows = sqlx::query_as::<_, Key>(&sql);
            for b in &binds {
                rows = rows.bind(b);
            }
            Ok(rows.fetch_all(&mut *conn).await?)
        }
    }
}

/// A page of the list. With `memory` (this process's copy of the sort columns, brought up to
/// date here first), searches sort their matches there instead of looking each one up.
pub async fn page(
    pool: &SqlitePool,
    memory: Option<&Memory>,
    query: &ListQuery,
) -> Result<PrincipalPage, AppError> {
    let mut from = match (&query.after, &query.before) {
        (Some(c), _) => Some((decode_cursor(c, query.sort, "after")?, false)),
        (None, Some(c)) => Some((decode_cursor(c, query.sort, "before")?, true)),
        (None, None) => None,
    };
    let mut conn = pool.acquire().await?;
    let memory = match memory {
        Some(memory) if !query.q.is_empty() && memory.update(&mut conn, false).await? => {
            Some(memory)
        }
        _ => None,
    };
    loop {
        let backward = from.as_ref().is_some_and(|(_, back)| *back);
        // Backward pages are read in the opposite order, then turned round.
        let ascending = query.descending == backward;
        let past = from.as_ref().map(|(values, _)| values.as_slice());
        let want = Want {
            sort: query.sort,
            ascending,
            from: past,
        };
        let plan = search::plan(&mut conn, &query.q, want, memory).await?;
        let mut keys = Vec::new();
        for source in &plan.sources {
            keys.extend(read(&mut conn, source, want).await?);
        }
        // Folded once per row, not per comparison. The folded values end in the handle,
        // UNIQUE COLLATE NOCASE, so no two rows tie and reversing gives the descending order.
        keys.sort_by_cached_key(|k| folded(query.sort, k));
        if !ascending {
            keys.reverse();
        }
        keys.dedup_by_key(|k| k.id);
        // A stale link (its rows removed since): show the first page rather than nothing.
        if keys.is_empty() && from.is_some() {
            from = None;
            continue;
        }
        let more = keys.len() > PAGE_SIZE as usize;
        keys.truncate(PAGE_SIZE as usize);
        let mut principals = rows(&mut conn, &keys).await?;
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
            total: plan.total,
            total_capped: plan.capped,
            next,
            previous,
        });
    }
}

/// The page's rows with every column, in the order of `keys`. Only these rows get the costly
/// columns (effective role through groups, member counts).
async fn rows(conn: &mut SqliteConnection, keys: &[Key]) -> Result<Vec<Principal>, AppError> {
    let ids: Vec<i64> = keys.iter().map(|k| k.id).collect();
    let mut rows: Vec<Row> = sqlx::query_as(&format!(
        "{} WHERE p.id IN (SELECT value FROM json_each(?1))",
        select()
    ))
    .bind(serde_json::to_string(&ids).unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    rows.into_iter().map(Principal::try_from).collect()
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
