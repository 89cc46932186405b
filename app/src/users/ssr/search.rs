//! How a search finds its matches, planned so that none costs more than a few milliseconds at
//! a million principals (`scripts/bench-principals.sh`). The index (`principals_search`,
//! migration 0010) holds every trigram of the name and the email/ID, plus trigrams that mark
//! the start of each, under a rowid that carries the principal's kind.
//!
//! - Three characters or more match any part. The index is asked only for the two or three
//!   *rarest* of the search's trigrams (how rare, estimated from where each one's 64th entry
//!   lies), and each candidate is checked against the whole text; a phrase of every trigram
//!   would read the long entry lists of common ones ("son", "org") to the end.
//! - One or two characters match the start of the name or the email/ID: one trigram each.
//! - Up to [`CAP`] matches are all handed back with their sort values, and the page is cut
//!   from them in memory. Beyond, the page is read along the sort's own index (see [`Source`]).

use crate::{
    error::AppError,
    users::{COUNT_CAP, SortKey, highlight::matches},
};
use sqlx::SqliteConnection;

/// How many matches are counted; past it the list says "more than".
pub(super) const CAP: i64 = COUNT_CAP;
/// The index's rowid is `kind << KIND_SHIFT | id`.
const KIND_SHIFT: u32 = 40;
const ID_MASK: i64 = (1 << KIND_SHIFT) - 1;
/// Kinds in the Type sort's order, as the index's rowid numbers them (migration 0010).
pub(super) const KINDS: [&str; 3] = ["application", "group", "user"];
/// Roles in the Role sort's order.
pub(super) const ROLES: [&str; 3] = ["admin", "contributor", "viewer"];
/// A trigram's entries are counted from where its `PROBE`th lies.
const PROBE: i64 = 64;
/// Above this many estimated entries even the rarest trigram says "many": the exact phrase,
/// counted only up to [`CAP`], is then cheaper than checking candidates one by one.
const COMMON: f64 = 4.0 * CAP as f64;
/// Candidates checked before giving up on the rare trigrams and asking for the phrase.
const CHECK_BUDGET: usize = 4 * (CAP as usize + 1);
/// At most this many of a long search's trigrams are weighed.
const WEIGHED: usize = 12;

/// A principal's place in every sort.
#[derive(sqlx::FromRow, Clone, Debug)]
pub(super) struct Key {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub handle: String,
    pub role: String,
}

/// Where a page's rows come from; a page merges the rows of all its sources.
#[derive(Debug)]
pub(super) enum Source {
    /// The sort's index read in order, each entry tested against `filter` (SQL over `p`). With
    /// `lead`, only the rows with that kind or role (the Type and Role sorts' first column), so
    /// that the read starts where they do.
    Walk {
        filter: Option<String>,
        binds: Vec<String>,
        lead: Option<&'static str>,
    },
    /// Rows found by the search index, sorted when the page is cut.
    Known(Vec<Key>),
}

pub(super) struct Plan {
    pub total: i64,
    pub capped: bool,
    pub sources: Vec<Source>,
}

impl Plan {
    fn few(keys: Vec<Key>) -> Self {
        Self {
            total: keys.len() as i64,
            capped: false,
            sources: vec![Source::Known(keys)],
        }
    }

    fn many(sources: Vec<Source>) -> Self {
        Self {
            total: CAP,
            capped: true,
            sources,
        }
    }
}

/// A phrase of the query syntax that is exactly `text`.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The rowid range of one kind in the index.
fn band(kind: usize) -> (i64, i64) {
    let low = (kind as i64) << KIND_SHIFT;
    (low, low | ID_MASK)
}

pub(super) async fn plan(
    conn: &mut SqliteConnection,
    q: &str,
    sort: SortKey,
) -> Result<Plan, AppError> {
    if q.is_empty() {
        let total = sqlx::query_scalar("SELECT n FROM principal_count WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        return Ok(Plan {
            total,
            capped: false,
            sources: vec![Source::Walk {
                filter: None,
                binds: Vec::new(),
                lead: None,
            }],
        });
    }
    // Names and addresses cannot hold control characters, and the index's markers are some.
    if q.chars().any(char::is_control) {
        return Ok(Plan::few(Vec::new()));
    }
    if q.chars().count() < 3 {
        prefix(conn, q, sort).await
    } else {
        substring(conn, q, sort).await
    }
}

/// A one- or two-character search: the start of the name or of the email/ID.
async fn prefix(conn: &mut SqliteConnection, q: &str, sort: SortKey) -> Result<Plan, AppError> {
    let mark = |m: char| {
        let pad: String = std::iter::repeat_n(m, 3 - q.chars().count()).collect();
        quoted(&format!("{pad}{q}"))
    };
    let (name_starts, handle_starts) = (mark('\u{1}'), mark('\u{2}'));
    let found = ids(conn, &format!("{name_starts} OR {handle_starts}"), None).await?;
    if found.len() as i64 <= CAP {
        return Ok(Plan::few(keys(conn, &found).await?));
    }
    // Many. The sort's own index holds the matches of its field in one stretch (a prefix is a
    // range under NOCASE); the index of the search gives the rest, those whose other field
    // starts with `q` but whose sorted field does not, usually few.
    let range = vec![q.to_owned(), format!("{q}{}", char::MAX)];
    let walk_prefix = || Source::Walk {
        filter: Some(
            "((+p.name >= ?1 AND +p.name < ?2) OR (+p.handle >= ?1 AND +p.handle < ?2))".into(),
        ),
        binds: range.clone(),
        lead: None,
    };
    // NOCASE folds ASCII only, and so do the `starts` markers: beyond ASCII, read and test.
    if !q.is_ascii() {
        return Ok(Plan::many(vec![walk_prefix()]));
    }
    let (column, rest_mark) = match sort {
        SortKey::Email => ("p.handle", '\u{4}'),
        _ => ("p.name", '\u{3}'),
    };
    let rest = ids(conn, &mark(rest_mark), None).await?;
    if rest.len() as i64 > CAP {
        return Ok(Plan::many(vec![walk_prefix()]));
    }
    let seek = |lead| Source::Walk {
        filter: Some(format!("{column} >= ?1 AND {column} < ?2")),
        binds: range.clone(),
        lead,
    };
    let mut sources: Vec<Source> = match sort {
        SortKey::Name | SortKey::Email => vec![seek(None)],
        SortKey::Type => KINDS.iter().map(|k| seek(Some(*k))).collect(),
        SortKey::Role => ROLES.iter().map(|r| seek(Some(*r))).collect(),
    };
    sources.push(Source::Known(keys(conn, &rest).await?));
    Ok(Plan::many(sources))
}

/// A search of three characters or more: any part of the name or of the email/ID.
async fn substring(conn: &mut SqliteConnection, q: &str, sort: SortKey) -> Result<Plan, AppError> {
    let weights = rarity(conn, q).await?;
    let rarest = weights.first().map_or(0.0, |w| w.0);
    if rarest <= COMMON {
        // Every trigram of the rarest few that are within three times the rarest one's count.
        let terms: Vec<String> = weights
            .iter()
            .take_while(|w| w.0 <= 3.0 * rarest.max(PROBE as f64))
            .take(3)
            .map(|w| quoted(&w.1))
            .collect();
        if let Some(found) = checked(conn, &terms.join(" AND "), q).await? {
            if found.len() as i64 <= CAP {
                return Ok(Plan::few(found));
            }
            return dense(conn, q, sort).await;
        }
    }
    let found = ids(conn, &quoted(q), None).await?;
    if found.len() as i64 <= CAP {
        return Ok(Plan::few(keys(conn, &found).await?));
    }
    dense(conn, q, sort).await
}

/// More than [`CAP`] principals contain `q`: the page comes from reading the sort's index and
/// testing each entry. Matches are usually spread along it, so a page is found after a few
/// hundred entries. Under the Type sort they often are all of one kind ("example.org" matches
/// users only), so each kind is counted on its own and a kind with few is read from the index.
async fn dense(conn: &mut SqliteConnection, q: &str, sort: SortKey) -> Result<Plan, AppError> {
    // LIKE tests an entry three times faster than instr(lower(…)). It folds ASCII case only,
    // so a dense search for a non-ASCII capital can miss rows that a sparse one finds.
    let filter = "(p.name LIKE ?1 ESCAPE '\\' OR p.handle LIKE ?1 ESCAPE '\\')".to_owned();
    let binds = vec![format!("%{}%", escape_like(q))];
    if sort != SortKey::Type {
        return Ok(Plan::many(vec![Source::Walk {
            filter: Some(filter),
            binds,
            lead: None,
        }]));
    }
    let mut sources = Vec::with_capacity(KINDS.len());
    for (i, kind) in KINDS.iter().enumerate() {
        let found = ids(conn, &quoted(q), Some(band(i))).await?;
        sources.push(if found.len() as i64 <= CAP {
            Source::Known(keys(conn, &found).await?)
        } else {
            Source::Walk {
                filter: Some(filter.clone()),
                binds: binds.clone(),
                lead: Some(kind),
            }
        });
    }
    Ok(Plan::many(sources))
}

/// The distinct trigrams of `q`, rarest first, each with an estimate of how many principals
/// hold it: its entries are in rowid order and ids are spread evenly, so if the `PROBE`th
/// entry of a kind has id `r`, about `PROBE × max_id / r` principals of that kind hold it.
async fn rarity(conn: &mut SqliteConnection, q: &str) -> Result<Vec<(f64, String)>, AppError> {
    let chars: Vec<char> = q.chars().flat_map(char::to_lowercase).collect();
    let mut grams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    grams.sort();
    grams.dedup();
    if grams.len() > WEIGHED {
        let step = grams.len() as f64 / WEIGHED as f64;
        grams = (0..WEIGHED)
            .map(|i| grams[(i as f64 * step) as usize].clone())
            .collect();
    }
    let mut probes = vec!["(SELECT max(id) FROM principals)".to_owned()];
    for i in 0..grams.len() {
        for kind in 0..KINDS.len() {
            let (low, high) = band(kind);
            probes.push(format!(
                "(SELECT rowid & {ID_MASK} FROM principals_search WHERE principals_search MATCH ?{} \
                 AND rowid BETWEEN {low} AND {high} LIMIT 1 OFFSET {})",
                i + 1,
                PROBE - 1
            ));
        }
    }
    let sql = format!("SELECT {}", probes.join(", "));
    let mut query = sqlx::query(&sql);
    for gram in &grams {
        query = query.bind(quoted(gram));
    }
    let row = query.fetch_one(&mut *conn).await?;
    use sqlx::Row;
    let max_id: Option<i64> = row.try_get(0)?;
    let max_id = max_id.unwrap_or(0).max(1) as f64;
    let mut weights = Vec::with_capacity(grams.len());
    for (i, gram) in grams.into_iter().enumerate() {
        let mut estimate = 0.0;
        for kind in 0..KINDS.len() {
            let probe: Option<i64> = row.try_get(1 + i * KINDS.len() + kind)?;
            // Fewer than PROBE entries: count them as PROBE, a bound that is close enough.
            estimate += probe.map_or(PROBE as f64, |id| PROBE as f64 * max_id / id.max(1) as f64);
        }
        weights.push((estimate, gram));
    }
    weights.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(weights)
}

/// The principals that hold every term of `terms` (a MATCH expression) and contain `q`,
/// checked one by one, until more than [`CAP`] are found. None when more than
/// [`CHECK_BUDGET`] candidates were needed: the terms were not selective enough.
async fn checked(
    conn: &mut SqliteConnection,
    terms: &str,
    q: &str,
) -> Result<Option<Vec<Key>>, AppError> {
    let sql = format!(
        "SELECT p.id, p.kind, p.name, p.handle, p.role \
         FROM principals_search s JOIN principals p ON p.id = (s.rowid & {ID_MASK}) \
         WHERE principals_search MATCH ?1 AND s.rowid > ?2 ORDER BY s.rowid LIMIT ?3"
    );
    let mut found = Vec::new();
    let (mut after, mut checked, mut chunk) = (-1_i64, 0_usize, 512_i64);
    loop {
        let candidates: Vec<(i64, Key)> = sqlx::query_as::<_, Key>(&sql)
            .bind(terms)
            .bind(after)
            .bind(chunk)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|k| (term_id(&k), k))
            .collect();
        let last_chunk = (candidates.len() as i64) < chunk;
        checked += candidates.len();
        for (id, key) in candidates {
            after = id;
            if matches(&key.name, q) || matches(&key.handle, q) {
                found.push(key);
                if found.len() as i64 > CAP {
                    return Ok(Some(found));
                }
            }
        }
        if last_chunk {
            return Ok(Some(found));
        }
        if checked >= CHECK_BUDGET {
            return Ok(None);
        }
        chunk = (chunk * 2).min(4_096);
    }
}

/// A principal's rowid in the search index.
fn term_id(key: &Key) -> i64 {
    let kind = KINDS.iter().position(|k| *k == key.kind).unwrap_or(2) as i64;
    (kind << KIND_SHIFT) | key.id
}

/// The ids of up to [`CAP`] + 1 principals that `expression` matches, within one kind's band.
async fn ids(
    conn: &mut SqliteConnection,
    expression: &str,
    band: Option<(i64, i64)>,
) -> Result<Vec<i64>, AppError> {
    let (low, high) = band.unwrap_or((0, i64::MAX));
    let limit = CAP + 1;
    Ok(sqlx::query_scalar(&format!(
        "SELECT rowid & {ID_MASK} FROM principals_search \
         WHERE principals_search MATCH ?1 AND rowid BETWEEN ?2 AND ?3 LIMIT {limit}"
    ))
    .bind(expression)
    .bind(low)
    .bind(high)
    .fetch_all(&mut *conn)
    .await?)
}

/// The sort values of the principals with these ids.
async fn keys(conn: &mut SqliteConnection, ids: &[i64]) -> Result<Vec<Key>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(
        "SELECT id, kind, name, handle, role FROM principals \
         WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(serde_json::to_string(ids).unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?)
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

#[cfg(test)]
mod tests {
    use super::{escape_like, quoted};

    #[test]
    fn like_wildcards_in_a_search_are_text() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
    }

    #[test]
    fn a_quote_is_text_in_a_phrase() {
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }
}
