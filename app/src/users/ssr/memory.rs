//! A copy, in this process's memory, of what the Users list sorts and searches on: each
//! principal's kind, role, name and email/ID, the last two folded as the list compares them
//! (ASCII letters only, as NOCASE and LIKE do). With it, a search's matches are checked and
//! sorted without a lookup each in the database (about a microsecond each, most of a search's
//! time at a million principals), and a search that matches a good part of everyone is counted
//! by reading this text instead of the search index.
//!
//! The database stays the truth. Every change to those columns is logged (migration 0012); the
//! copy reads the log past the last change it applied before each list query and every few
//! seconds in the background, so each server process on one database sees every change. The
//! list works without the copy (before it is loaded, or should loading fail), only slower. A
//! change committed between the copy's update and a query's read of the index may be missed by
//! that one query (a new principal not listed yet); the next query has it.

use super::order::{KINDS, Key, ROLES, Want};
use crate::{
    error::AppError,
    users::{PAGE_SIZE, SortKey},
};
use memchr::memmem::Finder;
use sqlx::SqliteConnection;
use std::{
    sync::{RwLock, RwLockReadGuard},
    time::{Duration, Instant},
};

/// How long the change log keeps a change ([`prune`]).
const KEPT_SECS: i64 = 3600;
/// A copy not brought up to date for this long may have missed pruned changes: it is read
/// again instead.
const STALE: Duration = Duration::from_secs(3000);
/// More changes than this since the last update: reading everything again is as quick.
const MANY_CHANGES: i64 = 10_000;
/// Principals read at a time while loading, so that one statement never holds a million rows.
const LOAD_CHUNK: i64 = 50_000;
/// The kind of a slot whose principal changed or went (its text stays until compaction).
const GONE: u8 = u8::MAX;
/// No slot for this id.
const NONE: u32 = u32::MAX;
/// Ids are slots' indexes in a table (4 bytes an id ever given): beyond this, the list goes
/// without the copy rather than hold a table mostly empty.
const MAX_ID: i64 = 1 << 28;
/// After a load that could not make a copy, the next try waits this long: the data that
/// stopped it is likely still there, and a load at a million principals takes seconds.
const RETRY: Duration = Duration::from_secs(600);

#[derive(Default)]
pub struct Memory {
    copy: RwLock<Option<Copy>>,
    /// One update at a time; queries go on reading the copy meanwhile. Holds when a copy
    /// could last not be made.
    updating: tokio::sync::Mutex<Option<Instant>>,
}

struct Copy {
    /// The last change applied.
    seq: i64,
    updated: Instant,
    /// In the order of `text`.
    slots: Vec<Slot>,
    /// Each slot's folded name, `\n`, folded email/ID, `\n`: names and addresses hold no
    /// control characters, and neither does a search, so no match spans two fields.
    text: Vec<u8>,
    /// A principal's slot, by id. Ids come from the index in order, so reading this and the
    /// slots (in id order after a load) goes forward through memory, not hither and thither.
    by_id: Vec<u32>,
    live: usize,
    gone_bytes: usize,
}

#[derive(Clone, Copy)]
struct Slot {
    id: i64,
    start: u32,
    /// Where the name ends (the `\n` after it).
    split: u32,
    end: u32,
    /// Index in [`KINDS`], or [`GONE`].
    kind: u8,
    /// Index in [`ROLES`].
    role: u8,
    /// The first 8 bytes of the folded name and email/ID (big-endian, padded with zeros, which
    /// no text holds): most comparisons are settled by these without reading the text.
    name8: u64,
    handle8: u64,
}

/// One principal's sort columns as stored.
type Stored = (i64, String, String, String, String);
/// A change: its place in the log, the principal, and its columns now (none: it is gone).
type Change = (
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// `text` folded as NOCASE and LIKE fold it: ASCII letters only.
pub(super) fn fold(text: &str) -> Vec<u8> {
    text.bytes().map(|b| b.to_ascii_lowercase()).collect()
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = self.read().as_ref().map(|c| c.seq);
        f.debug_struct("Memory")
            .field("footprint", &self.footprint())
            .field("seq", &seq)
            .finish()
    }
}

impl Memory {
    fn read(&self) -> RwLockReadGuard<'_, Option<Copy>> {
        self.copy.read().unwrap_or_else(|e| e.into_inner())
    }

    fn replace(&self, copy: Option<Copy>) {
        *self.copy.write().unwrap_or_else(|e| e.into_inner()) = copy;
    }

    pub fn is_loaded(&self) -> bool {
        self.read().is_some()
    }

    /// How many principals the copy holds and the bytes it takes (text, slots, id table).
    pub fn footprint(&self) -> Option<(usize, usize)> {
        self.read().as_ref().map(|c| {
            let bytes = c.text.capacity()
                + c.slots.capacity() * std::mem::size_of::<Slot>()
                + c.by_id.capacity() * std::mem::size_of::<u32>();
            (c.live, bytes)
        })
    }

    /// Brings the copy up to date with the change log; with `load`, reads everything when there
    /// is no copy yet or it fell too far behind (at a million principals, seconds: the
    /// background's job, not a query's). Whether a copy is there now.
    pub async fn update(&self, conn: &mut SqliteConnection, load: bool) -> Result<bool, AppError> {
        let mut refused = match self.updating.try_lock() {
            Ok(one) => one,
            // Another update under way: worth waiting for only if it brings a copy up to date
            // (changes take microseconds to apply); a query does not wait for a first load.
            Err(_) if load || self.is_loaded() => self.updating.lock().await,
            Err(_) => return Ok(false),
        };
        let since = self
            .read()
            .as_ref()
            .filter(|c| c.updated.elapsed() < STALE)
            .map(|c| c.seq);
        let Some(since) = since else {
            if !load || refused.is_some_and(|at| at.elapsed() < RETRY) {
                return Ok(false);
            }
            let copy = Copy::load(conn).await?;
            // A copy that could not be made leaves the list on the database alone.
            let loaded = copy.is_some();
            *refused = (!loaded).then(Instant::now);
            self.replace(copy);
            return Ok(loaded);
        };
        let changes: Vec<Change> = sqlx::query_as(
            "SELECT c.seq, c.id, p.kind, p.name, p.handle, p.role \
                 FROM principal_changes c LEFT JOIN principals p ON p.id = c.id \
                 WHERE c.seq > ?1 ORDER BY c.seq LIMIT ?2",
        )
        .bind(since)
        .bind(MANY_CHANGES + 1)
        .fetch_all(&mut *conn)
        .await?;
        if changes.len() as i64 > MANY_CHANGES {
            // Read everything again; a query leaves that to the background and goes on without.
            self.replace(None);
            if !load {
                return Ok(false);
            }
            let copy = Copy::load(conn).await?;
            let loaded = copy.is_some();
            *refused = (!loaded).then(Instant::now);
            self.replace(copy);
            return Ok(loaded);
        }
        let mut guard = self.copy.write().unwrap_or_else(|e| e.into_inner());
        let Some(copy) = guard.as_mut() else {
            return Ok(false);
        };
        for (seq, id, kind, name, handle, role) in changes {
            copy.seq = seq;
            let now = match (kind, name, handle, role) {
                (Some(kind), Some(name), Some(handle), Some(role)) => {
                    Some((id, kind, name, handle, role))
                }
                _ => None,
            };
            if !copy.apply(id, now.as_ref()) {
                // Beyond what a slot can address, or a kind or role it does not know.
                *guard = None;
                *refused = Some(Instant::now());
                return Ok(false);
            }
        }
        copy.updated = Instant::now();
        copy.compact();
        Ok(true)
    }

    /// The page's rows among `ids` (found by the search index), with `check` only those whose
    /// name or email/ID contains it (folded): how many match, and up to `PAGE_SIZE + 1` of
    /// them past the cursor in the page's order. `None` without a copy.
    pub(super) fn page_of(
        &self,
        ids: &[i64],
        check: Option<&str>,
        want: Want<'_>,
    ) -> Option<(i64, Vec<Key>)> {
        let guard = self.read();
        let copy = guard.as_ref()?;
        let check = check.map(fold);
        let finder = check.as_deref().map(Finder::new);
        let cursor: Option<Vec<Vec<u8>>> = want
            .from
            .map(|values| values.iter().map(|v| fold(v)).collect());
        let cursor = cursor.as_ref().map(|values| Place::of(want.sort, values));
        let order = |a: &(u64, &Slot), b: &(u64, &Slot)| {
            a.0.cmp(&b.0).then_with(|| {
                copy.values(want.sort, a.1)
                    .cmp(&copy.values(want.sort, b.1))
            })
        };
        let mut matches = 0;
        let mut rows = Vec::new();
        for id in ids {
            let Some(slot) = copy.slot(*id) else {
                continue;
            };
            if finder
                .as_ref()
                .is_some_and(|f| f.find(copy.entry(slot)).is_none())
            {
                continue;
            }
            matches += 1;
            let row = (primary(want.sort, slot), slot);
            if let Some(cursor) = &cursor {
                let full = || copy.values(want.sort, slot).cmp(&cursor.values());
                let side = match cursor.primary {
                    Some(primary) => row.0.cmp(&primary).then_with(full),
                    None => full(),
                };
                if (want.ascending && side.is_le()) || (!want.ascending && side.is_ge()) {
                    continue;
                }
            }
            rows.push(row);
        }
        let limit = PAGE_SIZE as usize + 1;
        let ordered = |a: &(u64, &Slot), b: &(u64, &Slot)| {
            if want.ascending {
                order(a, b)
            } else {
                order(b, a)
            }
        };
        if rows.len() > limit {
            rows.select_nth_unstable_by(limit - 1, ordered);
            rows.truncate(limit);
        }
        rows.sort_unstable_by(ordered);
        Some((
            matches,
            rows.into_iter().map(|(_, slot)| copy.key(slot)).collect(),
        ))
    }

    /// How many principals of each kind contain `q` (folded) among those whose text lies in the
    /// copy's first `budget` bytes, counting no further once one kind has more than `enough`,
    /// or once the part read shows that the whole budget would hold fewer than half of `enough`
    /// (a search that is not common costs a fraction of the budget). `None` without a copy.
    pub(super) fn count_containing(
        &self,
        q: &str,
        budget: usize,
        enough: i64,
    ) -> Option<[i64; KINDS.len()]> {
        let guard = self.read();
        let copy = guard.as_ref()?;
        let needle = fold(q);
        let finder = Finder::new(&needle);
        let end = budget.min(copy.text.len());
        let mut counts = [0; KINDS.len()];
        let mut from = 0;
        for part in [end / 8, end / 4, end / 2, end] {
            while counts.iter().all(|&n| n <= enough) && !needle.is_empty() {
                let Some(at) = copy
                    .text
                    .get(from..part)
                    .and_then(|text| finder.find(text))
                    .map(|i| from + i)
                else {
                    break;
                };
                // The slot holding `at`: slots lie in the text's order.
                let slot = &copy.slots[copy.slots.partition_point(|s| s.start as usize <= at) - 1];
                if let Some(count) = counts.get_mut(slot.kind as usize) {
                    *count += 1;
                }
                from = slot.end as usize;
            }
            let total: i64 = counts.iter().sum();
            let foreseen = total as f64 * end as f64 / part.max(1) as f64;
            if counts.iter().any(|&n| n > enough) || foreseen < enough as f64 / 2.0 {
                break;
            }
        }
        Some(counts)
    }
}

/// A cursor's place in a sort: its folded values, and the first 8 bytes that [`primary`]
/// would give a row there (none for a kind or role that no row holds: a cursor made up by hand
/// sorts among the rows by its text alone).
struct Place<'a> {
    primary: Option<u64>,
    values: [&'a [u8]; 3],
}

impl<'a> Place<'a> {
    fn of(sort: SortKey, values: &'a [Vec<u8>]) -> Self {
        let value = |i: usize| values.get(i).map_or(&b""[..], Vec::as_slice);
        let lead = |names: &[&str]| {
            let at = names.iter().position(|n| n.as_bytes() == value(0));
            at.map(|i| (i as u64) << 56 | prefix(value(1)) >> 8)
        };
        let primary = match sort {
            SortKey::Name | SortKey::Email => Some(prefix(value(0))),
            SortKey::Type => lead(&KINDS),
            SortKey::Role => lead(&ROLES),
        };
        Self {
            primary,
            values: [value(0), value(1), value(2)],
        }
    }

    fn values(&self) -> [&'a [u8]; 3] {
        self.values
    }
}

/// The first 8 bytes of `text`, big-endian, padded with zeros.
fn prefix(text: &[u8]) -> u64 {
    let mut bytes = [0; 8];
    let n = text.len().min(8);
    bytes[..n].copy_from_slice(&text[..n]);
    u64::from_be_bytes(bytes)
}

/// A slot's first 8 bytes in a sort: a row whose bytes are lower sorts first; equal bytes say
/// nothing. By Type and Role, the kind's or role's place, then 7 bytes of the name.
fn primary(sort: SortKey, slot: &Slot) -> u64 {
    match sort {
        SortKey::Name => slot.name8,
        SortKey::Email => slot.handle8,
        SortKey::Type => (slot.kind as u64) << 56 | slot.name8 >> 8,
        SortKey::Role => (slot.role as u64) << 56 | slot.name8 >> 8,
    }
}

impl Copy {
    /// Every principal, read in one transaction so that the copy and the log position agree.
    /// `None` when a slot could not address the text (more than 4 GiB) or a stored kind or role
    /// is unknown.
    async fn load(conn: &mut SqliteConnection) -> Result<Option<Self>, AppError> {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let seq: i64 =
            sqlx::query_scalar("SELECT coalesce((SELECT max(seq) FROM principal_changes), 0)")
                .fetch_one(&mut *tx)
                .await?;
        let mut copy = Copy {
            seq,
            updated: Instant::now(),
            slots: Vec::new(),
            text: Vec::new(),
            by_id: Vec::new(),
            live: 0,
            gone_bytes: 0,
        };
        let mut after = i64::MIN;
        loop {
            let rows: Vec<Stored> = sqlx::query_as(
                "SELECT id, kind, name, handle, role FROM principals WHERE id > ?1 \
                 ORDER BY id LIMIT ?2",
            )
            .bind(after)
            .bind(LOAD_CHUNK)
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                if !copy.apply(row.0, Some(row)) {
                    return Ok(None);
                }
            }
            match rows.last() {
                Some(row) if rows.len() as i64 == LOAD_CHUNK => after = row.0,
                _ => break,
            }
        }
        tx.commit().await?;
        // Grown by doubling while read: give the slack back.
        copy.text.shrink_to_fit();
        copy.slots.shrink_to_fit();
        Ok(Some(copy))
    }

    /// `id` as it is `now` (`None`: gone). False when the copy cannot hold it.
    fn apply(&mut self, id: i64, now: Option<&Stored>) -> bool {
        let Some(at) = usize::try_from(id).ok().filter(|_| id < MAX_ID) else {
            return false;
        };
        if self.by_id.len() <= at {
            self.by_id.resize(at + 1, NONE);
        }
        let old = std::mem::replace(&mut self.by_id[at], NONE);
        if let Some(slot) = self.slots.get_mut(old as usize) {
            slot.kind = GONE;
            self.gone_bytes += (slot.end - slot.start) as usize;
            self.live -= 1;
        }
        let Some((_, kind, name, handle, role)) = now else {
            return true;
        };
        let (Some(kind), Some(role)) = (
            KINDS.iter().position(|k| k == kind),
            ROLES.iter().position(|r| r == role),
        ) else {
            return false;
        };
        let start = self.text.len();
        self.text
            .extend(name.bytes().map(|b| b.to_ascii_lowercase()));
        let split = self.text.len();
        self.text.push(b'\n');
        self.text
            .extend(handle.bytes().map(|b| b.to_ascii_lowercase()));
        self.text.push(b'\n');
        let (Ok(start), Ok(split), Ok(end), Ok(i)) = (
            u32::try_from(start),
            u32::try_from(split),
            u32::try_from(self.text.len()),
            u32::try_from(self.slots.len()),
        ) else {
            return false;
        };
        let slot = Slot {
            id,
            start,
            split,
            end,
            kind: kind as u8,
            role: role as u8,
            name8: 0,
            handle8: 0,
        };
        let (name8, handle8) = (prefix(self.name(&slot)), prefix(self.handle(&slot)));
        self.slots.push(Slot {
            name8,
            handle8,
            ..slot
        });
        self.by_id[at] = i;
        self.live += 1;
        true
    }

    /// Drops the text of slots whose principal changed or went, once they are half of it.
    fn compact(&mut self) {
        if self.gone_bytes < 1 << 20 || self.gone_bytes < self.text.len() / 2 {
            return;
        }
        let (mut text, mut slots) = (Vec::with_capacity(self.text.len()), Vec::new());
        for slot in self.slots.iter().filter(|s| s.kind != GONE) {
            let start = text.len() as u32;
            text.extend_from_slice(&self.text[slot.start as usize..slot.end as usize]);
            self.by_id[slot.id as usize] = slots.len() as u32;
            slots.push(Slot {
                start,
                split: start + (slot.split - slot.start),
                end: start + (slot.end - slot.start),
                ..*slot
            });
        }
        (self.text, self.slots, self.gone_bytes) = (text, slots, 0);
    }

    fn slot(&self, id: i64) -> Option<&Slot> {
        let i = *self.by_id.get(usize::try_from(id).ok()?)?;
        self.slots.get(i as usize)
    }

    fn entry(&self, slot: &Slot) -> &[u8] {
        &self.text[slot.start as usize..slot.end as usize]
    }

    fn name(&self, slot: &Slot) -> &[u8] {
        &self.text[slot.start as usize..slot.split as usize]
    }

    fn handle(&self, slot: &Slot) -> &[u8] {
        &self.text[slot.split as usize + 1..slot.end as usize - 1]
    }

    /// A slot's place in a sort, as `order::columns` lists them (unused places empty).
    fn values(&self, sort: SortKey, slot: &Slot) -> [&[u8]; 3] {
        let (name, handle) = (self.name(slot), self.handle(slot));
        match sort {
            SortKey::Name => [name, handle, b""],
            SortKey::Email => [handle, b"", b""],
            SortKey::Type => [KINDS[slot.kind as usize].as_bytes(), name, handle],
            SortKey::Role => [ROLES[slot.role as usize].as_bytes(), name, handle],
        }
    }

    fn key(&self, slot: &Slot) -> Key {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        Key {
            id: slot.id,
            kind: KINDS[slot.kind as usize].to_owned(),
            name: text(self.name(slot)),
            handle: text(self.handle(slot)),
            role: ROLES[slot.role as usize].to_owned(),
        }
    }
}

/// Forgets changes older than every copy needs (copies that old are read again).
pub async fn prune(pool: &sqlx::SqlitePool) -> Result<(), AppError> {
    sqlx::query("DELETE FROM principal_changes WHERE at < unixepoch() - ?1")
        .bind(KEPT_SECS)
        .execute(pool)
        .await?;
    Ok(())
}
