//! The principals list: the page's ids from the search index (`index`), sorted on any column
//! (ties broken by the id, so pages never overlap) and paged by cursor, so that no page costs
//! more than the first; then those rows' columns from the database.

use super::{
    GROUP_ROLE,
    index::{Index, KINDS, Place, ROLES, Seen, fold},
    parse_role,
};
use crate::db::{Conn, Flag, Pool};
use crate::{
    error::AppError,
    users::{ListQuery, PAGE_SIZE, Principal, PrincipalKind, PrincipalPage, SortKey},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    kind: String,
    name: String,
    handle: String,
    role: String,
    group_role: Option<String>,
    #[sqlx(try_from = "Flag")]
    pending: bool,
    members: Option<i64>,
    #[sqlx(try_from = "Flag")]
    lockbox_approver: bool,
    #[sqlx(try_from = "Flag")]
    active: bool,
    #[sqlx(try_from = "Flag")]
    support_application: bool,
    #[sqlx(try_from = "Flag")]
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
         (p.kind = 'user' AND p.password_hash IS NULL AND p.oidc_subject IS NULL) AS pending, \
         CASE WHEN p.kind = 'group' THEN \
             (SELECT COUNT(*) FROM group_members m WHERE m.group_id = p.id) END AS members, \
         p.lockbox_approver, p.active, p.support_application, \
         (p.kind = 'user' AND EXISTS (SELECT 1 FROM lockbox_pending_changes c \
             WHERE c.status = '{waiting}' AND c.kind = 'grant_approver' \
             AND c.user_id = p.id)) AS approver_waiting \
         FROM principals p",
        waiting = crate::two_person::ssr::ChangeStatus::Pending.as_str(),
    )
}

/// A row's place in a sort, as a cursor carries it (folded when read back).
fn sort_values(key: SortKey, p: &Principal) -> Vec<String> {
    let (name, handle, id) = (p.name.clone(), p.email_or_id.clone(), p.id.to_string());
    match key {
        SortKey::Name => vec![name, handle, id],
        SortKey::Email => vec![handle, id],
        SortKey::Type => vec![p.kind.as_str().to_owned(), name, handle, id],
        SortKey::Role => vec![p.role.as_str().to_owned(), name, handle, id],
    }
}

/// A cursor is the sort values of a row, as a JSON array in base64url: opaque in a link, but
/// needing no lookup, and still valid when that row has been removed since.
pub fn cursor(key: SortKey, p: &Principal) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&sort_values(key, p)).unwrap_or_default())
}

/// A cursor's place in the sort (see [`Place`]): kind or role, two folded texts, the id.
struct Cursor {
    lead: u8,
    texts: [Vec<u8>; 2],
    id: i64,
}

impl Cursor {
    fn decode(cursor: &str, key: SortKey, field: &str) -> Result<Self, AppError> {
        let values = URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|json| serde_json::from_slice::<Vec<String>>(&json).ok());
        let rank = |names: &[&str], value: &str| names.iter().position(|n| *n == value);
        let parsed = values.and_then(|v| {
            let folded = |i: usize| v.get(i).map(|t| fold(t).into_bytes());
            let (lead, texts, id) = match (key, v.len()) {
                (SortKey::Name, 3) => (Some(0), [folded(0), folded(1)], &v[2]),
                (SortKey::Email, 2) => (Some(0), [folded(0), Some(Vec::new())], &v[1]),
                (SortKey::Type, 4) => (rank(&KINDS, &v[0]), [folded(1), folded(2)], &v[3]),
                (SortKey::Role, 4) => (rank(&ROLES, &v[0]), [folded(1), folded(2)], &v[3]),
                _ => return None,
            };
            let [Some(first), Some(second)] = texts else {
                return None;
            };
            Some(Self {
                lead: lead? as u8,
                texts: [first, second],
                id: id.parse().ok()?,
            })
        });
        parsed.ok_or_else(|| {
            AppError::invalid(
                field,
                "This is not a page of this list: start again from the first page.",
            )
        })
    }

    fn place(&self) -> Place<'_> {
        (self.lead, &self.texts[0], &self.texts[1], self.id)
    }
}

/// Whether the database's row is the one the index placed (a change committed in between
/// makes the page wrong: it is made again).
fn as_seen(p: &Principal, seen: &Seen) -> bool {
    p.id == seen.id
        && p.kind.as_str() == seen.kind
        && p.role.as_str() == seen.role
        && fold(&p.name) == seen.name
        && fold(&p.email_or_id) == seen.handle
}

/// How often a page is made again when changes keep coming in between.
const ATTEMPTS: usize = 3;

/// A page of the list, with the index brought up to date first.
pub async fn page(
    pool: &Pool,
    index: &Index,
    query: &ListQuery,
) -> Result<PrincipalPage, AppError> {
    let mut conn = pool.acquire().await?;
    index.update(&mut conn).await?;
    page_in(&mut conn, index, query).await
}

/// A page of the list from the index as it is (updated only when a row read from the database
/// is not what the index holds): [`page`] without its first step, for tests that change a
/// principal during a query.
pub async fn page_in(
    conn: &mut Conn,
    index: &Index,
    query: &ListQuery,
) -> Result<PrincipalPage, AppError> {
    let mut from = match (&query.after, &query.before) {
        (Some(c), _) => Some((Cursor::decode(c, query.sort, "after")?, false)),
        (None, Some(c)) => Some((Cursor::decode(c, query.sort, "before")?, true)),
        (None, None) => None,
    };
    let mut attempt = 0;
    loop {
        let backward = from.as_ref().is_some_and(|(_, back)| *back);
        // Backward pages are read in the opposite order, then turned round.
        let ascending = query.descending == backward;
        let place = from.as_ref().map(|(c, _)| c.place());
        let limit = PAGE_SIZE as usize + 1;
        let found = index
            .page(&query.q, query.sort, ascending, place, limit)
            .ok_or_else(|| AppError::internal("the principals index is not loaded"))?;
        // A stale link (its rows removed since): show the first page rather than nothing.
        if found.rows.is_empty() && from.is_some() {
            from = None;
            continue;
        }
        let more = found.rows.len() > PAGE_SIZE as usize;
        let seen = &found.rows[..found.rows.len().min(PAGE_SIZE as usize)];
        let ids: Vec<i64> = seen.iter().map(|s| s.id).collect();
        let mut principals = rows(&mut *conn, &ids).await?;
        let current = principals.len() == seen.len()
            && principals.iter().zip(seen).all(|(p, s)| as_seen(p, s));
        attempt += 1;
        if !current && attempt < ATTEMPTS {
            index.update(&mut *conn).await?;
            continue;
        }
        if backward {
            principals.reverse();
        }
        let first = principals.first().map(|p| cursor(query.sort, p));
        let last = principals.last().map(|p| cursor(query.sort, p));
        let (next, previous) = if backward {
            (last, first.filter(|_| more))
        } else {
            (last.filter(|_| more), first.filter(|_| from.is_some()))
        };
        return Ok(PrincipalPage {
            principals,
            page_size: PAGE_SIZE,
            total: found.total,
            total_capped: found.capped,
            next,
            previous,
        });
    }
}

/// The page's rows with every column, in the order of `ids` (those still there). Only these
/// rows get the costly columns (effective role through groups, member counts).
async fn rows(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Principal>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("{} WHERE p.id IN ({})", select(), params.join(", "));
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let mut rows = query.fetch_all(&mut *conn).await?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    rows.into_iter().map(Principal::try_from).collect()
}

/// One principal as a list row.
pub async fn one(conn: &mut Conn, id: i64) -> Result<Principal, AppError> {
    let row: Option<Row> = sqlx::query_as(&format!("{} WHERE p.id = $1", select()))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.ok_or(AppError::NotFound)?.try_into()
}
