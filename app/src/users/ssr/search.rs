//! How a search finds its matches, planned so that none costs more than a few milliseconds at
//! a million principals (`scripts/bench-principals.sh`). The index (`principals_search`,
//! migration 0010) holds every trigram of the name and the email/ID, plus trigrams that mark
//! the start of each, under a rowid that carries the principal's kind.
//!
//! - Three characters or more match any part: the phrase of the search's trigrams, or, when
//!   some are far more common than the rest (how common, estimated from where each one's 64th
//!   entry lies), only the rarest, whose candidates the database checks against the text.
//! - One or two characters match the start of the name or the email/ID: one trigram each.
//! - Up to [`CAP`] matches are counted, looked up and sorted by the database, which hands back
//!   the page's rows of them. Beyond, the page is read along the sort's own index (see
//!   [`Source`]).
//!
//! Each step answers in one row (a page's rows as a JSON array): a row each would cost more
//! than the search.

use super::{
    memory::Memory,
    order::{self, KINDS, Key, ROLES, Want},
};
use crate::{
    error::AppError,
    users::{COUNT_CAP, PAGE_SIZE, SortKey},
};
use sqlx::SqliteConnection;

/// How many matches are counted; past it the list says "more than".
pub(super) const CAP: i64 = COUNT_CAP;
/// The index's rowid is `kind << KIND_SHIFT | id`.
const KIND_SHIFT: u32 = 40;
const ID_MASK: i64 = (1 << KIND_SHIFT) - 1;
/// A trigram's entries are counted from where its `PROBE`th lies.
const PROBE: i64 = 64;
/// Besides its rarest two, a search asks the index for those of its trigrams held by no more
/// than `SPREAD` times as many principals as the rarest. Reading a trigram's entry costs some
/// 40 times less than looking up a candidate, so a trigram that filters out few is not worth
/// reading.
const SPREAD: f64 = 2.0;
/// At most this many of a long search's trigrams are weighed.
const WEIGHED: usize = 12;
/// With the copy in memory, a search's entries in the index are gathered up to this many, then
/// checked and sorted there; more, and the page is read along the sort's index.
const GATHERED: i64 = 2 * CAP;
/// More than [`CAP`] matches among the copy's first this many bytes (some 40,000 principals)
/// is one in eight or more: too many for the index to count quickly, found in memory instead.
const PROBED_BYTES: usize = 2 << 20;

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
        /// Another index than the sort's, ordered by the sort's columns within `filter`.
        index: Option<&'static str>,
    },
    /// Rows found by the search index: the page's, sorted again when the page is cut.
    Known(Vec<Key>),
}

pub(super) struct Plan {
    pub total: i64,
    pub capped: bool,
    pub sources: Vec<Source>,
}

impl Plan {
    /// `total` matches, of which `keys` are the page's.
    fn few(total: i64, keys: Vec<Key>) -> Self {
        Self {
            total: total.min(CAP),
            capped: total > CAP,
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

/// With `memory`, the copy of the sort columns (loaded), matches are sorted there.
pub(super) async fn plan(
    conn: &mut SqliteConnection,
    q: &str,
    want: Want<'_>,
    memory: Option<&Memory>,
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
                index: None,
            }],
        });
    }
    // Names and addresses cannot hold control characters, and the index's markers are some.
    if q.chars().any(char::is_control) {
        return Ok(Plan::few(0, Vec::new()));
    }
    if q.chars().count() < 3 {
        prefix(conn, q, want, memory).await
    } else {
        substring(conn, q, want, memory).await
    }
}

/// A one- or two-character search: the start of the name or of the email/ID.
async fn prefix(
    conn: &mut SqliteConnection,
    q: &str,
    want: Want<'_>,
    memory: Option<&Memory>,
) -> Result<Plan, AppError> {
    let mark = |m: char| {
        let pad: String = std::iter::repeat_n(m, 3 - q.chars().count()).collect();
        quoted(&format!("{pad}{q}"))
    };
    let (name_starts, handle_starts) = (mark('\u{1}'), mark('\u{2}'));
    let all = found(
        conn,
        &format!("{name_starts} OR {handle_starts}"),
        None,
        None,
        want,
        memory,
        // A start of one or two characters is usually shared by many: counting them stops
        // sooner, and the few there are come at no more cost.
        CAP,
    )
    .await?;
    if let Some((total, keys)) = all.page {
        return Ok(Plan::few(total, keys));
    }
    // Many. The sort's own index holds the matches of its field in one stretch (a prefix is a
    // range under NOCASE). The rest, those whose other field starts with `q` but whose sorted
    // one does not: by Email/ID, an index of name initials; otherwise the search index's
    // markers of handles that start unlike the name, usually few.
    let range = vec![q.to_owned(), format!("{q}{}", char::MAX)];
    let walk_prefix = || Source::Walk {
        filter: Some(
            "((+p.name >= ?1 AND +p.name < ?2) OR (+p.handle >= ?1 AND +p.handle < ?2))".into(),
        ),
        binds: range.clone(),
        lead: None,
        index: None,
    };
    // NOCASE folds ASCII only, and so do the `starts` markers: beyond ASCII, read and test.
    if !q.is_ascii() {
        return Ok(Plan::many(vec![walk_prefix()]));
    }
    let seek = |column: &str, lead| Source::Walk {
        filter: Some(format!("{column} >= ?1 AND {column} < ?2")),
        binds: range.clone(),
        lead,
        index: None,
    };
    if want.sort == SortKey::Email {
        // Those whose name starts with `q`, in Email/ID order: migration 0011's indexes.
        let n = q.chars().count();
        let initial = Source::Walk {
            filter: Some(format!("lower(substr(p.name, 1, {n})) = ?1")),
            binds: vec![q.to_ascii_lowercase()],
            lead: None,
            index: Some(if n == 1 {
                "principals_name_initial"
            } else {
                "principals_name_initials"
            }),
        };
        return Ok(Plan::many(vec![seek("p.handle", None), initial]));
    }
    let Some((_, rest)) = found(conn, &mark('\u{3}'), None, None, want, memory, GATHERED)
        .await?
        .page
    else {
        return Ok(Plan::many(vec![walk_prefix()]));
    };
    let mut sources: Vec<Source> = match want.sort {
        SortKey::Type => KINDS.iter().map(|k| seek("p.name", Some(*k))).collect(),
        SortKey::Role => ROLES.iter().map(|r| seek("p.name", Some(*r))).collect(),
        _ => vec![seek("p.name", None)],
    };
    sources.push(Source::Known(rest));
    Ok(Plan::many(sources))
}

/// A search of three characters or more: any part of the name or of the email/ID.
///
/// The phrase of all its trigrams is exact, but it reads each trigram's whole entry list, and
/// a common one ("son", "org") holds a third of the principals. So when some are far more
/// common than the rarest, the index is asked only for the rarest two (and those nearly as
/// rare), and the database checks the candidates against the whole text as it looks up their
/// sort values, which a page needs anyway.
async fn substring(
    conn: &mut SqliteConnection,
    q: &str,
    want: Want<'_>,
    memory: Option<&Memory>,
) -> Result<Plan, AppError> {
    let grams = trigrams(q);
    // LIKE, which does the check, folds ASCII letters only; the phrase folds as the index does.
    // Two trigrams or fewer: the phrase reads no more than any choice of them would.
    let weights = match q.is_ascii() && grams.len() > 2 {
        true => Some(rarity(conn, grams).await?),
        false => None,
    };
    // Every trigram common: the phrase may match a good part of everyone, and counting that
    // through the index reads long lists. The copy in memory tells in a fraction of the time.
    let common = weights
        .as_ref()
        .is_none_or(|w| w.first().is_some_and(|w| w.0 > GATHERED as f64));
    if common
        && q.is_ascii()
        && let Some(counts) = memory.and_then(|m| m.count_containing(q, PROBED_BYTES, CAP))
        && counts.iter().sum::<i64>() > CAP
    {
        return many(conn, q, want, memory, counts).await;
    }
    if let Some(weights) = weights {
        let rarest = weights.first().map_or(0.0, |w| w.0);
        let terms: Vec<String> = weights
            .iter()
            .enumerate()
            .take_while(|(i, w)| *i < 2 || w.0 <= SPREAD * rarest)
            .map(|(_, w)| quoted(&w.1))
            .collect();
        if terms.len() < weights.len()
            && let Some((total, keys)) = found(
                conn,
                &terms.join(" AND "),
                None,
                Some(q),
                want,
                memory,
                GATHERED,
            )
            .await?
            .page
        {
            return Ok(Plan::few(total, keys));
        }
    }
    let phrase = quoted(q);
    // Without the copy, the Type sort counts each kind on its own; with it, all kinds are
    // gathered at once and sorted in memory.
    if want.sort == SortKey::Type && memory.is_none() {
        return by_kind(conn, &phrase, q, want, None, [0; KINDS.len()]).await;
    }
    match found(conn, &phrase, None, None, want, memory, GATHERED)
        .await?
        .page
    {
        Some((total, keys)) => Ok(Plan::few(total, keys)),
        None if want.sort == SortKey::Type => {
            by_kind(conn, &phrase, q, want, memory, [0; KINDS.len()]).await
        }
        // More than CAP: the page comes from reading the sort's index and testing each entry.
        // Matches are usually spread along it, so a page is found after a few hundred.
        None => Ok(Plan::many(vec![walk_containing(q, None)])),
    }
}

/// More than [`CAP`] principals contain `q`, as `counts` (by kind, from the copy in memory)
/// show: the page is read along the sort's index; by Type, kind by kind.
async fn many(
    conn: &mut SqliteConnection,
    q: &str,
    want: Want<'_>,
    memory: Option<&Memory>,
    counts: [i64; KINDS.len()],
) -> Result<Plan, AppError> {
    match want.sort {
        SortKey::Type => by_kind(conn, &quoted(q), q, want, memory, counts).await,
        _ => Ok(Plan::many(vec![walk_containing(q, None)])),
    }
}

/// The sort's index read in order, each entry tested for containing `q` (of one kind only
/// with `lead`). LIKE tests an entry three times faster than instr(lower(…)); it folds ASCII
/// case only, so a dense search for a non-ASCII capital can miss rows that a sparse one finds.
fn walk_containing(q: &str, lead: Option<&'static str>) -> Source {
    Source::Walk {
        filter: Some(containing("?1")),
        binds: vec![contains_pattern(q)],
        lead,
        index: None,
    }
}

/// Whether `p`'s name or email/ID is LIKE the pattern bound to `param`.
fn containing(param: &str) -> String {
    format!("(p.name LIKE {param} ESCAPE '\\' OR p.handle LIKE {param} ESCAPE '\\')")
}

/// The LIKE pattern of a text that contains `q`.
fn contains_pattern(q: &str) -> String {
    format!("%{}%", escape_like(q))
}

/// The Type sort: matches are often all of one kind ("example.org" matches users only), so
/// each kind is counted on its own; a kind with few is looked up, one with many read along the
/// index from where that kind starts. A kind of which the copy in memory already `seen` more
/// than [`CAP`] is not counted again.
async fn by_kind(
    conn: &mut SqliteConnection,
    phrase: &str,
    q: &str,
    want: Want<'_>,
    memory: Option<&Memory>,
    seen: [i64; KINDS.len()],
) -> Result<Plan, AppError> {
    let mut count = 0;
    let mut sources = Vec::with_capacity(KINDS.len());
    for (i, kind) in KINDS.iter().enumerate() {
        let kind_found = match seen[i] > CAP {
            true => Found {
                count: seen[i],
                page: None,
            },
            false => found(conn, phrase, Some(band(i)), None, want, memory, GATHERED).await?,
        };
        count += kind_found.count;
        sources.push(match kind_found.page {
            Some((_, keys)) => Source::Known(keys),
            None => walk_containing(q, Some(kind)),
        });
    }
    Ok(Plan {
        total: count.min(CAP),
        capped: count > CAP,
        sources,
    })
}

/// The distinct trigrams of `q`, in the index's case folding.
fn trigrams(q: &str) -> Vec<String> {
    let chars: Vec<char> = q.chars().flat_map(char::to_lowercase).collect();
    let mut grams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    grams.sort();
    grams.dedup();
    grams
}

/// The `grams` (a search's trigrams), rarest first, each with an estimate of how many principals
/// hold it: its entries are in rowid order and ids are spread evenly, so if the `PROBE`th
/// entry of a kind has id `r`, about `PROBE × max_id / r` principals of that kind hold it.
async fn rarity(
    conn: &mut SqliteConnection,
    mut grams: Vec<String>,
) -> Result<Vec<(f64, String)>, AppError> {
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

/// What the index found for an expression.
struct Found {
    /// How many entries, up to one more than were gathered ([`CAP`], or with the copy in
    /// memory as many as asked for).
    count: i64,
    /// When no more than that: how many of them match, and the page's rows of those.
    page: Option<(i64, Vec<Key>)>,
}

/// The principals that `expression` matches (within one kind's band), counted up to [`CAP`] + 1
/// and, when no more, looked up: with `check`, only those whose name or email/ID contains it
/// (ASCII), so that the index may be asked for less than the whole phrase. The matches are
/// counted and the page's rows of them sorted by the database, in one statement that answers
/// in one row: looking them up is the costly part, and a row each would cost more still.
/// With the copy in memory, up to `gather` entries (at most [`GATHERED`]) are gathered from the
/// index (as one text) and checked and sorted in memory, without a lookup each.
async fn found(
    conn: &mut SqliteConnection,
    expression: &str,
    band: Option<(i64, i64)>,
    check: Option<&str>,
    want: Want<'_>,
    memory: Option<&Memory>,
    gather: i64,
) -> Result<Found, AppError> {
    let (low, high) = band.unwrap_or((0, i64::MAX));
    if let Some(memory) = memory {
        let gather = gather.min(GATHERED);
        let ids: Option<String> = sqlx::query_scalar(&format!(
            "SELECT group_concat(id) FROM (SELECT rowid & {ID_MASK} AS id \
             FROM principals_search WHERE principals_search MATCH ?1 AND rowid BETWEEN ?2 AND ?3 \
             LIMIT {})",
            gather + 1
        ))
        .bind(expression)
        .bind(low)
        .bind(high)
        .fetch_one(&mut *conn)
        .await?;
        let ids: Vec<i64> = ids
            .unwrap_or_default()
            .split(',')
            .filter_map(|id| id.parse().ok())
            .collect();
        let count = ids.len() as i64;
        if count > gather {
            return Ok(Found { count, page: None });
        }
        // Without a copy after all (it could not be kept up): the database sorts them.
        if let Some(page) = memory.page_of(&ids, check, want) {
            return Ok(Found {
                count,
                page: Some(page),
            });
        }
    }
    let columns = order::columns(want.sort);
    let past = match want.from {
        Some(_) => format!("WHERE {}", order::past(columns, want.ascending, 5)),
        None => String::new(),
    };
    // Under a CASE, so that more than CAP entries are never looked up; `matched` is worked
    // out once, where first used.
    let sql = format!(
        "WITH found AS MATERIALIZED (SELECT rowid & {ID_MASK} AS id FROM principals_search \
             WHERE principals_search MATCH ?1 AND rowid BETWEEN ?2 AND ?3 LIMIT {over}), \
         matched AS MATERIALIZED (SELECT p.id, p.kind, p.name, p.handle, p.role \
             FROM found f JOIN principals p ON p.id = f.id \
             WHERE ?4 IS NULL OR {}) \
         SELECT n, \
             CASE WHEN n <= {CAP} THEN (SELECT count(*) FROM matched) END, \
             CASE WHEN n <= {CAP} THEN (SELECT json_group_array(json_array(id, kind, name, \
                 handle, role)) FROM (SELECT * FROM matched p {past} ORDER BY {} LIMIT {page})) \
             END \
         FROM (SELECT count(*) AS n FROM found)",
        containing("?4"),
        order::order_by(columns, want.ascending),
        over = CAP + 1,
        page = PAGE_SIZE + 1,
    );
    let mut query = sqlx::query_as::<_, (i64, Option<i64>, Option<String>)>(&sql)
        .bind(expression)
        .bind(low)
        .bind(high)
        .bind(check.map(contains_pattern));
    for value in want.from.unwrap_or_default() {
        query = query.bind(value);
    }
    let (count, matches, keys) = query.fetch_one(&mut *conn).await?;
    let page = match (matches, keys) {
        (Some(matches), Some(keys)) if count <= CAP => Some((matches, parse_keys(&keys)?)),
        _ => None,
    };
    Ok(Found { count, page })
}

fn parse_keys(json: &str) -> Result<Vec<Key>, AppError> {
    let rows: Vec<(i64, String, String, String, String)> =
        serde_json::from_str(json).map_err(|e| AppError::internal(format!("search keys: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, name, handle, role)| Key {
            id,
            kind,
            name,
            handle,
            role,
        })
        .collect())
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
