//! The Users list's one search engine, the same whatever the database: every principal's kind,
//! role, and name and email/ID (folded to lower case), held in this process's memory as one
//! text and kept in the order of every sort.
//!
//! - A search scans for its folded words (milliseconds at a million principals): three
//!   characters or more match any part of a name or an email/ID, one or two the start of either.
//!   Up to [`COUNT_CAP`] matches are counted and sorted; past that, the list says "more than"
//!   and reads the sort's order from the cursor on, keeping the rows that match.
//! - Without a search, the sort's order is read from the cursor on.
//!
//! The database stays the truth. Every change to these columns is logged (`principal_changes`,
//! written by triggers in the changing transaction); each list query first applies the changes
//! logged since this process last looked, so every server on one database lists what was
//! committed before the query began. `list` checks the rows it reads against what the index
//! said and tries again when a change came in between.

use crate::db::Conn;
use crate::{
    error::AppError,
    users::{COUNT_CAP, SortKey},
};
use memchr::memmem::Finder;
use std::{
    cmp::Ordering,
    collections::HashMap,
    ops::Range,
    sync::{RwLock, RwLockReadGuard},
    time::{Duration, Instant},
};

/// Kinds in the Type sort's order.
pub(super) const KINDS: [&str; 3] = ["application", "group", "user"];
/// Roles in the Role sort's order.
pub(super) const ROLES: [&str; 3] = ["admin", "contributor", "viewer"];
/// How long the change log keeps a change ([`prune`]).
const KEPT_SECS: i64 = 3600;
/// An index not brought up to date for this long may have missed pruned changes: it is read
/// again instead.
const STALE: Duration = Duration::from_secs(3000);
/// More changes than this since the last update: reading everything again is as quick.
const MANY_CHANGES: i64 = 10_000;
/// More changes than this in one update: the sort orders are sorted again rather than each
/// change moved in them.
const RESORT: usize = 256;
/// A text this long or longer (some 5,000 principals) is scanned in two halves side by side;
/// below, starting a thread costs about what it saves.
const PARALLEL_BYTES: usize = 256 << 10;
/// A search with many matches tests this many entries along the sort's order before it finds
/// every match in one pass instead (about what that pass costs at a million principals).
const WALKED: usize = 120_000;
/// Principals read at a time while loading, so that one statement never holds a million rows.
const LOAD_CHUNK: i64 = 50_000;
/// Starts every name and email/ID in the text. Names, addresses and searches hold no control
/// characters, so no match spans two fields.
const FIELD: u8 = 0x01;
/// The kind of an entry whose principal changed or went (its text stays until compaction).
const GONE: u8 = u8::MAX;

/// How the list compares and searches text: lower case, all of Unicode.
pub(super) fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// A row's place in a sort: kind or role (by Type or Role), two folded texts, and the id, which
/// settles every tie so that a cursor names one place and pages never overlap.
pub(super) type Place<'a> = (u8, &'a [u8], &'a [u8], i64);

/// One principal's sort columns as stored.
type Stored = (i64, String, String, String, String);
/// A logged change: its place in the log, the principal, and its columns now (none: gone).
type Change = (i64, i64, Text, Text, Text, Text);
type Text = Option<String>;

#[derive(Default)]
pub struct Index {
    state: RwLock<Option<State>>,
    /// One update at a time; queries go on reading meanwhile.
    updating: tokio::sync::Mutex<()>,
}

struct State {
    /// The last change applied.
    seq: i64,
    updated: Instant,
    store: Store,
    by_id: HashMap<i64, u32>,
    /// The live entries in each sort's ascending order (`SortKey::ALL`'s order).
    sorted: [Vec<u32>; 4],
}

#[derive(Default)]
struct Store {
    /// In the order of `text`.
    entries: Vec<Entry>,
    /// Each entry's `FIELD` name `FIELD` email/ID, folded.
    text: Vec<u8>,
    /// Each entry's first two bytes of name (low half) and email/ID (high half), zero-padded:
    /// a one- or two-character search reads these 4 bytes an entry, not its text.
    initials: Vec<u32>,
    gone_bytes: usize,
}

#[derive(Clone, Copy)]
struct Entry {
    id: i64,
    start: u32,
    /// Where the email/ID's `FIELD` is.
    split: u32,
    end: u32,
    /// Index in [`KINDS`], or [`GONE`].
    kind: u8,
    /// Index in [`ROLES`].
    role: u8,
    /// Which bytes its text holds, by `bytes_of`: an entry that lacks one of a search's
    /// bytes cannot match, and is passed over without reading its text.
    bytes: u64,
}

/// A text's first two bytes, zero-padded (no stored text holds a zero byte).
fn two_of(text: &[u8]) -> u32 {
    u32::from(text.first().copied().unwrap_or(0))
        | u32::from(text.get(1).copied().unwrap_or(0)) << 8
}

/// The byte classes of `text` (a byte's low six bits), as a mask.
fn bytes_of(text: &[u8]) -> u64 {
    text.iter().fold(0, |mask, b| mask | 1 << (b & 63))
}

/// A row of a page, as the index holds it: `list` checks the database's row against it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Seen {
    pub id: i64,
    pub kind: &'static str,
    pub role: &'static str,
    pub name: String,
    pub handle: String,
}

/// Up to a page's rows past a cursor, and how many match.
#[derive(Default)]
pub(super) struct Found {
    pub total: i64,
    pub capped: bool,
    pub rows: Vec<Seen>,
}

fn sort_slot(key: SortKey) -> usize {
    match key {
        SortKey::Name => 0,
        SortKey::Email => 1,
        SortKey::Type => 2,
        SortKey::Role => 3,
    }
}

impl Store {
    fn name(&self, e: &Entry) -> &[u8] {
        &self.text[e.start as usize + 1..e.split as usize]
    }

    fn handle(&self, e: &Entry) -> &[u8] {
        &self.text[e.split as usize + 1..e.end as usize]
    }

    fn place(&self, key: SortKey, i: u32) -> Place<'_> {
        let e = &self.entries[i as usize];
        let (name, handle) = (self.name(e), self.handle(e));
        match key {
            SortKey::Name => (0, name, handle, e.id),
            SortKey::Email => (0, handle, b"", e.id),
            SortKey::Type => (e.kind, name, handle, e.id),
            SortKey::Role => (e.role, name, handle, e.id),
        }
    }

    /// Adds `row` as a new entry: its index, or `None` for a kind or role the list does not know
    /// or a text past 4 GiB.
    fn push(&mut self, (id, kind, name, handle, role): &Stored) -> Option<u32> {
        let kind = KINDS.iter().position(|k| k == kind)? as u8;
        let role = ROLES.iter().position(|r| r == role)? as u8;
        let start = u32::try_from(self.text.len()).ok()?;
        self.text.push(FIELD);
        self.text.extend_from_slice(fold(name).as_bytes());
        let split = u32::try_from(self.text.len()).ok()?;
        self.text.push(FIELD);
        self.text.extend_from_slice(fold(handle).as_bytes());
        let end = u32::try_from(self.text.len()).ok()?;
        let i = u32::try_from(self.entries.len()).ok()?;
        let bytes = bytes_of(&self.text[start as usize..]);
        let name = &self.text[start as usize + 1..split as usize];
        let initials = two_of(name) | two_of(&self.text[split as usize + 1..]) << 16;
        self.initials.push(initials);
        self.entries.push(Entry {
            id: *id,
            start,
            split,
            end,
            kind,
            role,
            bytes,
        });
        Some(i)
    }

    fn seen(&self, i: u32) -> Seen {
        let e = &self.entries[i as usize];
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        Seen {
            id: e.id,
            kind: KINDS[e.kind as usize],
            role: ROLES[e.role as usize],
            name: text(self.name(e)),
            handle: text(self.handle(e)),
        }
    }
}

/// What a search looks for: one or two characters, the start of a name or an email/ID (their
/// first two bytes compared with the initials under a mask, then the rest of a longer
/// character read); more, any part of them (found by `memmem` in the text).
enum Needle {
    Start(u32, u32, Vec<u8>),
    Inside(Box<Finder<'static>>, u64),
}

impl Needle {
    fn new(q: &str) -> Self {
        let folded = fold(q).into_bytes();
        let bytes = bytes_of(&folded);
        if q.chars().count() < 3 {
            let mask = if folded.len() == 1 { 0xff } else { 0xffff };
            Self::Start(two_of(&folded), mask, folded)
        } else {
            Self::Inside(Box::new(Finder::new(&folded).into_owned()), bytes)
        }
    }

    /// Whether entry `i` matches: its text is read only when its initials or bytes allow it.
    fn matches(&self, store: &Store, i: u32) -> bool {
        let e = &store.entries[i as usize];
        match self {
            Self::Start(want, mask, q) => {
                let at = store.initials[i as usize];
                (at & mask == *want && (q.len() <= 2 || store.name(e).starts_with(q)))
                    || (at >> 16 & mask == *want
                        && (q.len() <= 2 || store.handle(e).starts_with(q)))
            }
            Self::Inside(_, bytes) if e.bytes & bytes != *bytes => false,
            Self::Inside(f, _) => f
                .find(&store.text[e.start as usize..e.end as usize])
                .is_some(),
        }
    }

    /// The live entries among `range` that match, in text order, up to `most`.
    fn scan_range(&self, store: &Store, range: Range<usize>, most: usize) -> Vec<u32> {
        let live = |i: usize| store.entries[i].kind != GONE;
        let mut found = Vec::new();
        match self {
            Self::Start(..) => found.extend(
                (range.start as u32..range.end as u32)
                    .filter(|&i| self.matches(store, i) && live(i as usize))
                    .take(most),
            ),
            Self::Inside(f, _) if !range.is_empty() => {
                let from = store.entries[range.start].start as usize;
                let to = store.entries[range.end - 1].end as usize;
                let mut i = range.start;
                for at in f.find_iter(&store.text[from..to]) {
                    // Matches come in text order, and so do entries: walk along.
                    while (store.entries[i].end as usize) <= from + at {
                        i += 1;
                    }
                    if found.len() == most {
                        break;
                    }
                    if live(i) && found.last() != Some(&(i as u32)) {
                        found.push(i as u32);
                    }
                }
            }
            Self::Inside(..) => {}
        }
        found
    }

    /// The live entries that match, in text order, up to `most`: the text's two halves side
    /// by side (a scan is most of a search's time, and servers have more than one core).
    fn scan(&self, store: &Store, most: usize) -> Vec<u32> {
        let n = store.entries.len();
        if store.text.len() < PARALLEL_BYTES {
            return self.scan_range(store, 0..n, most);
        }
        let half = store.text.len() / 2;
        let mid = store.entries.partition_point(|e| (e.start as usize) < half);
        let (mut found, second) = std::thread::scope(|s| {
            let second = s.spawn(|| self.scan_range(store, mid..n, most));
            let first = self.scan_range(store, 0..mid, most);
            let second = second
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (first, second)
        });
        found.extend(second);
        found.truncate(most);
        found
    }

    /// Which live entries match, as bits by entry.
    fn scan_all(&self, store: &Store) -> Vec<u64> {
        let mut bits = vec![0_u64; store.entries.len().div_ceil(64)];
        for i in self.scan(store, usize::MAX) {
            bits[i as usize / 64] |= 1 << (i % 64);
        }
        bits
    }
}

impl State {
    fn sort_all(&mut self) {
        let live: Vec<u32> = self.by_id.values().copied().collect();
        for key in SortKey::ALL {
            let mut order = live.clone();
            order
                .sort_unstable_by(|a, b| self.store.place(key, *a).cmp(&self.store.place(key, *b)));
            self.sorted[sort_slot(key)] = order;
        }
    }

    /// `id` as it is `now` (`None`: gone); with `keep_sorted`, moved in every sort order.
    fn apply(&mut self, id: i64, now: Option<&Stored>, keep_sorted: bool) -> Result<(), AppError> {
        if let Some(old) = self.by_id.remove(&id) {
            if keep_sorted {
                for key in SortKey::ALL {
                    let order = &mut self.sorted[sort_slot(key)];
                    let place = self.store.place(key, old);
                    if let Ok(at) =
                        order.binary_search_by(|i| self.store.place(key, *i).cmp(&place))
                    {
                        order.remove(at);
                    }
                }
            }
            let e = &mut self.store.entries[old as usize];
            e.kind = GONE;
            self.store.gone_bytes += (e.end - e.start) as usize;
        }
        let Some(row) = now else { return Ok(()) };
        let i = self.store.push(row).ok_or_else(|| {
            AppError::internal(format!(
                "principal {id} cannot be listed (kind, role or size)"
            ))
        })?;
        self.by_id.insert(id, i);
        if keep_sorted {
            for key in SortKey::ALL {
                let place = self.store.place(key, i);
                let order = &mut self.sorted[sort_slot(key)];
                let at = order.partition_point(|j| self.store.place(key, *j) < place);
                order.insert(at, i);
            }
        }
        Ok(())
    }

    /// Drops the text of entries whose principal changed or went, once they are half of it.
    fn compact(&mut self) {
        let store = &self.store;
        if store.gone_bytes < 1 << 20 || store.gone_bytes < store.text.len() / 2 {
            return;
        }
        let mut fresh = Store::default();
        let mut moved = vec![u32::MAX; store.entries.len()];
        for (i, e) in store
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind != GONE)
        {
            let start = fresh.text.len() as u32;
            fresh
                .text
                .extend_from_slice(&store.text[e.start as usize..e.end as usize]);
            moved[i] = fresh.entries.len() as u32;
            fresh.initials.push(store.initials[i]);
            fresh.entries.push(Entry {
                start,
                split: start + (e.split - e.start),
                end: start + (e.end - e.start),
                ..*e
            });
        }
        for i in self
            .by_id
            .values_mut()
            .chain(self.sorted.iter_mut().flatten())
        {
            *i = moved[*i as usize];
        }
        self.store = fresh;
    }

    /// Up to `limit` entries of the sort's order past `from` (or from its start) in the page's
    /// direction that `keep` keeps; `None` when `budget` entries were looked at first.
    fn walk(
        &self,
        key: SortKey,
        ascending: bool,
        from: Option<Place<'_>>,
        (limit, budget): (usize, usize),
        keep: impl Fn(u32) -> bool,
    ) -> Option<Vec<u32>> {
        let order = &self.sorted[sort_slot(key)];
        let place = |i: &u32| self.store.place(key, *i);
        let range = match from {
            None => &order[..],
            Some(c) if ascending => &order[order.partition_point(|i| place(i) <= c)..],
            Some(c) => &order[..order.partition_point(|i| place(i) < c)],
        };
        let mut entries: Box<dyn Iterator<Item = &u32>> = if ascending {
            Box::new(range.iter())
        } else {
            Box::new(range.iter().rev())
        };
        let mut rows = Vec::new();
        for looked in 0.. {
            let Some(i) = entries.next().filter(|_| rows.len() < limit) else {
                break;
            };
            if looked == budget {
                return None;
            }
            if keep(*i) {
                rows.push(*i);
            }
        }
        Some(rows)
    }
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Index {:?}", self.footprint())
    }
}

impl Index {
    fn read(&self) -> RwLockReadGuard<'_, Option<State>> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// How many principals the index holds and the bytes its text takes.
    pub fn footprint(&self) -> Option<(usize, usize)> {
        self.read()
            .as_ref()
            .map(|s| (s.by_id.len(), s.store.text.capacity()))
    }

    /// Applies the changes logged since the last update, or reads everything when there is no
    /// index yet or it fell far behind (at a million principals, seconds).
    pub async fn update(&self, conn: &mut Conn) -> Result<(), AppError> {
        let _one = self.updating.lock().await;
        let since = self
            .read()
            .as_ref()
            .filter(|s| s.updated.elapsed() < STALE)
            .map(|s| s.seq);
        let Some(since) = since else {
            let state = load(conn).await?;
            *self.state.write().unwrap_or_else(|e| e.into_inner()) = Some(state);
            return Ok(());
        };
        let changes: Vec<Change> = sqlx::query_as(
            "SELECT c.seq, c.id, p.kind, p.name, p.handle, p.role \
                 FROM principal_changes c LEFT JOIN principals p ON p.id = c.id \
                 WHERE c.seq > $1 ORDER BY c.seq LIMIT $2",
        )
        .bind(since)
        .bind(MANY_CHANGES + 1)
        .fetch_all(&mut *conn)
        .await?;
        if changes.len() as i64 > MANY_CHANGES {
            let state = load(conn).await?;
            *self.state.write().unwrap_or_else(|e| e.into_inner()) = Some(state);
            return Ok(());
        }
        let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        let Some(state) = guard.as_mut() else {
            return Ok(());
        };
        let keep_sorted = changes.len() <= RESORT;
        let mut result = Ok(());
        for (seq, id, kind, name, handle, role) in changes {
            let now = match (kind, name, handle, role) {
                (Some(kind), Some(name), Some(handle), Some(role)) => {
                    Some((id, kind, name, handle, role))
                }
                _ => None,
            };
            result = result.and(state.apply(id, now.as_ref(), keep_sorted));
            state.seq = seq;
        }
        if !keep_sorted {
            state.sort_all();
        }
        state.updated = Instant::now();
        state.compact();
        if result.is_err() {
            // An entry it could not hold: read everything again next time rather than list
            // without it.
            *guard = None;
        }
        result
    }

    /// The page's rows: up to `limit` past `from` in the page's direction, among those that
    /// match `q`. `None` before the first [`Index::update`].
    pub(super) fn page(
        &self,
        q: &str,
        key: SortKey,
        ascending: bool,
        from: Option<Place<'_>>,
        limit: usize,
    ) -> Option<Found> {
        let guard = self.read();
        let state = guard.as_ref()?;
        let store = &state.store;
        let seen = |rows: Vec<u32>| rows.into_iter().map(|i| store.seen(i)).collect();
        if q.is_empty() {
            let rows = state.walk(key, ascending, from, (limit, usize::MAX), |_| true)?;
            return Some(Found {
                total: state.by_id.len() as i64,
                capped: false,
                rows: seen(rows),
            });
        }
        if q.chars().any(char::is_control) {
            // Nothing stored holds one.
            return Some(Found::default());
        }
        let needle = Needle::new(q);
        let cap = COUNT_CAP as usize;
        let mut matched = needle.scan(store, cap + 1);
        if matched.len() > cap {
            // Many: read along the sort's order, unless they lie together far along it, where
            // finding them all first costs less (always so for one or two characters).
            let budget = if matches!(needle, Needle::Start(..)) {
                0
            } else {
                WALKED
            };
            let rows = state
                .walk(key, ascending, from, (limit, budget), |i| {
                    needle.matches(store, i)
                })
                .or_else(|| {
                    let bits = needle.scan_all(store);
                    let kept = |i: u32| bits[i as usize / 64] & 1 << (i % 64) != 0;
                    state.walk(key, ascending, from, (limit, usize::MAX), kept)
                })?;
            return Some(Found {
                total: COUNT_CAP,
                capped: true,
                rows: seen(rows),
            });
        }
        let total = matched.len() as i64;
        let past = |i: &u32| {
            from.is_none_or(|c| {
                let side = store.place(key, *i).cmp(&c);
                if ascending {
                    side.is_gt()
                } else {
                    side.is_lt()
                }
            })
        };
        matched.retain(past);
        let ordered = |a: &u32, b: &u32| -> Ordering {
            let side = store.place(key, *a).cmp(&store.place(key, *b));
            if ascending { side } else { side.reverse() }
        };
        if matched.len() > limit {
            matched.select_nth_unstable_by(limit - 1, ordered);
            matched.truncate(limit);
        }
        matched.sort_unstable_by(ordered);
        Some(Found {
            total,
            capped: false,
            rows: seen(matched),
        })
    }
}

/// Every principal, read in one transaction so that the index and the log position agree.
async fn load(conn: &mut Conn) -> Result<State, AppError> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let seq: i64 =
        sqlx::query_scalar("SELECT coalesce((SELECT max(seq) FROM principal_changes), 0)")
            .fetch_one(&mut *tx)
            .await?;
    let mut state = State {
        seq,
        updated: Instant::now(),
        store: Store::default(),
        by_id: HashMap::new(),
        sorted: Default::default(),
    };
    let mut after = i64::MIN;
    loop {
        let rows: Vec<Stored> = sqlx::query_as(
            "SELECT id, kind, name, handle, role FROM principals WHERE id > $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(LOAD_CHUNK)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            state.apply(row.0, Some(row), false)?;
        }
        match rows.last() {
            Some(row) if rows.len() as i64 == LOAD_CHUNK => after = row.0,
            _ => break,
        }
    }
    tx.commit().await?;
    state.store.text.shrink_to_fit();
    state.store.entries.shrink_to_fit();
    state.store.initials.shrink_to_fit();
    state.sort_all();
    Ok(state)
}

/// Forgets changes older than every index needs (indexes that old are read again).
pub async fn prune(pool: &crate::db::Pool) -> Result<(), AppError> {
    sqlx::query("DELETE FROM principal_changes WHERE at < unixepoch() - $1")
        .bind(KEPT_SECS)
        .execute(pool)
        .await?;
    Ok(())
}
