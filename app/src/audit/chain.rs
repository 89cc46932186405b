//! The audit log's chain: each entry's MAC covers the previous entry's MAC and the entry itself,
//! `mac_n = HMAC-SHA256(audit_key, mac_(n-1) || canonical(entry_n))`, so that changing any column
//! of an entry, deleting one, inserting one or reordering them breaks the chain at that entry,
//! and recomputing it needs the audit key, which is derived from the master key (HKDF-SHA256,
//! RFC 5869, with a label of its own) and never stored.
//!
//! The key reaches `record` through the connection: each pool connection gets it in a
//! connection-local temporary table when it opens (`install`), so that every writer on that
//! database (server functions, the REST API, the command line) chains with the right key.

use crate::db::Conn;
use crate::error::AppError;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The HKDF label: a key for this purpose only.
const LABEL: &[u8] = b"gatehouse audit chain v1";

/// The key the chain's MACs are made with. `Debug` never shows it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn derive(master_key: &[u8; 32]) -> Self {
        let mut key = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, master_key)
            .expand(LABEL, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Self(key)
    }
}

/// Gives a new connection the audit key (a temporary table lives with its connection only, in
/// memory, and never in the database file).
pub async fn install(conn: &mut Conn, key: &AuditKey) -> Result<(), sqlx::Error> {
    if crate::db::Backend::of_conn(conn) == crate::db::Backend::Sqlite {
        sqlx::query("PRAGMA temp_store = MEMORY")
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("CREATE TEMP TABLE IF NOT EXISTS gatehouse_audit_key (k BYTEA NOT NULL)")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM gatehouse_audit_key")
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO gatehouse_audit_key (k) VALUES ($1)")
        .bind(key.0.as_slice())
        .execute(conn)
        .await?;
    Ok(())
}

async fn installed(conn: &mut Conn) -> Result<AuditKey, AppError> {
    let key: Option<Vec<u8>> = sqlx::query_scalar("SELECT k FROM gatehouse_audit_key")
        .fetch_optional(conn)
        .await
        .ok()
        .flatten();
    key.and_then(|k| <[u8; 32]>::try_from(k).ok())
        .map(AuditKey)
        .ok_or_else(|| AppError::internal("the audit key was not installed on this connection"))
}

/// An entry's columns, as the MAC covers them.
pub struct Fields<'a> {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_email: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: &'a str,
    pub client_addr: Option<&'a str>,
}

/// An entry as stored: its columns, its place in the chain (none for a row written before the
/// chain, or outside Gatehouse) and its MAC. Read by the chain and by the stream.
#[derive(sqlx::FromRow)]
pub struct Stored {
    pub id: i64,
    pub seq: Option<i64>,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
    pub client_addr: Option<String>,
    pub mac: Option<Vec<u8>>,
}

/// The columns `Stored` reads.
pub const STORED_COLUMNS: &str = "SELECT id, seq, at, actor_id, actor_email, action, target, detail, client_addr, mac FROM audit_log";

impl Stored {
    /// The entry's MAC in hex, as the streams carry it (empty before it is chained).
    pub fn mac_hex(&self) -> String {
        self.mac.as_deref().map(hex).unwrap_or_default()
    }

    /// The columns the MAC covers, at sequence `seq`.
    pub fn fields(&self, seq: i64) -> Fields<'_> {
        Fields {
            seq,
            at: self.at,
            actor_id: self.actor_id,
            actor_email: self.actor_email.as_deref(),
            action: &self.action,
            target: self.target.as_deref(),
            detail: &self.detail,
            client_addr: self.client_addr.as_deref(),
        }
    }
}

/// The bytes an entry's MAC covers: its columns as a JSON array (serde_json writes the same
/// bytes for the same values), so that no two different entries read the same.
fn canonical(f: &Fields<'_>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Canonical<'a>(
        i64,
        i64,
        Option<i64>,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
    );
    serde_json::to_vec(&Canonical(
        f.seq,
        f.at,
        f.actor_id,
        f.actor_email,
        f.action,
        f.target,
        f.detail,
        f.client_addr,
    ))
    .unwrap_or_default()
}

pub fn mac(key: &AuditKey, previous: &[u8], fields: &Fields<'_>) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(&key.0).expect("HMAC takes a key of any length");
    m.update(previous);
    m.update(&canonical(fields));
    m.finalize().into_bytes().into()
}

/// The chain's head: the newest entry's sequence and MAC, or the anchor when there is none.
async fn head(conn: &mut Conn) -> Result<(i64, Vec<u8>), AppError> {
    let newest: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, mac FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    match newest {
        Some(head) => Ok(head),
        None => Ok(
            sqlx::query_as("SELECT seq, mac FROM audit_anchor WHERE id = 1")
                .fetch_one(conn)
                .await?,
        ),
    }
}

/// Appends one entry at the chain's head. Two writers on other connections may read the same
/// head: the unique sequence lets one of them in and the other reads the new head and tries
/// again. (Inside a write transaction nobody else appends meanwhile.)
pub async fn append(conn: &mut Conn, new: Fields<'_>) -> Result<(), AppError> {
    let key = installed(conn).await?;
    let mut attempts = 0;
    loop {
        let (seq, previous) = head(conn).await?;
        let fields = Fields {
            seq: seq + 1,
            ..new
        };
        let mac = mac(&key, &previous, &fields);
        let inserted = sqlx::query(
            "INSERT INTO audit_log \
             (seq, at, actor_id, actor_email, action, target, detail, client_addr, mac) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(fields.seq)
        .bind(fields.at)
        .bind(fields.actor_id)
        .bind(fields.actor_email)
        .bind(fields.action)
        .bind(fields.target)
        .bind(fields.detail)
        .bind(fields.client_addr)
        .bind(mac.as_slice())
        .execute(&mut *conn)
        .await;
        match inserted {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && attempts < 20 => {
                attempts += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// `chain_unchained` with the key installed on the connection.
pub async fn chain_unchained_here(conn: &mut Conn) -> Result<u64, AppError> {
    let key = installed(conn).await?;
    chain_unchained(conn, &key).await
}

/// Entries written before the chain existed, chained now in id order (run at start, in a
/// write transaction, before anything else writes).
pub async fn chain_unchained(conn: &mut Conn, key: &AuditKey) -> Result<u64, AppError> {
    let rows: Vec<Stored> =
        sqlx::query_as(&format!("{STORED_COLUMNS} WHERE seq IS NULL ORDER BY id"))
            .fetch_all(&mut *conn)
            .await?;
    let (mut seq, mut previous) = head(conn).await?;
    for row in &rows {
        seq += 1;
        let id = row.id;
        let fields = row.fields(seq);
        let mac = mac(key, &previous, &fields);
        sqlx::query("UPDATE audit_log SET seq = $1, mac = $2 WHERE id = $3")
            .bind(seq)
            .bind(mac.as_slice())
            .bind(id)
            .execute(&mut *conn)
            .await?;
        previous = mac.to_vec();
    }
    Ok(rows.len() as u64)
}

pub use super::ChainVerdict as Verdict;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `verify` with the key installed on the connection (the server's, or the command's).
pub async fn verify_here(conn: &mut Conn) -> Result<Verdict, AppError> {
    let key = installed(conn).await?;
    verify(conn, &key).await
}

/// Walks the chain from its anchor and recomputes every MAC; names the first entry that is
/// changed, missing, inserted or out of place.
pub async fn verify(conn: &mut Conn, key: &AuditKey) -> Result<Verdict, AppError> {
    let unchained: Option<i64> =
        sqlx::query_scalar("SELECT id FROM audit_log WHERE seq IS NULL OR mac IS NULL ORDER BY id")
            .fetch_optional(&mut *conn)
            .await?;
    let (anchor_seq, anchor_mac): (i64, Vec<u8>) =
        sqlx::query_as("SELECT seq, mac FROM audit_anchor WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
    let (mut expected, mut previous, mut count) = (anchor_seq + 1, anchor_mac, 0i64);
    // A page at a time: a year of entries need not fit in memory at once.
    let mut after = i64::MIN;
    loop {
        let rows: Vec<Stored> = sqlx::query_as(&format!(
            "{STORED_COLUMNS} WHERE seq IS NOT NULL AND seq > $1 ORDER BY seq LIMIT 5000"
        ))
        .bind(after)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last().and_then(|r| r.seq) else {
            break;
        };
        after = last;
        for row in rows {
            let seq = row.seq.unwrap_or_default();
            if seq != expected {
                let reason = if seq > expected {
                    format!("entry {expected} is missing (the next one is {seq})")
                } else {
                    format!("sequence {seq} is out of order")
                };
                return Ok(Verdict::Broken {
                    entry: expected,
                    reason,
                });
            }
            let fields = row.fields(seq);
            let stored = row.mac.clone().unwrap_or_default();
            if mac(key, &previous, &fields).as_slice() != stored.as_slice() {
                return Ok(Verdict::Broken {
                    entry: seq,
                    reason: "its MAC does not match its contents and the entry before it (changed, inserted or moved)".into(),
                });
            }
            previous = stored;
            expected += 1;
            count += 1;
        }
    }
    if let Some(id) = unchained {
        return Ok(Verdict::Broken {
            entry: id,
            reason: format!(
                "the row with id {id} has no place in the chain (inserted outside Gatehouse)"
            ),
        });
    }
    Ok(Verdict::Intact {
        entries: count,
        head: hex(&previous),
    })
}

/// A signed statement of the chain's head: its sequence, MAC and time. Deleting the newest
/// entries leaves a chain that verifies on its own; held against a checkpoint taken before (and
/// kept outside the database: a SIEM receives each as an `audit.checkpoint` entry), it does not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    /// Hex.
    pub mac: String,
    pub at: i64,
    /// HMAC-SHA256 under the audit key of `checkpoint|seq|mac|at`, hex.
    pub sig: String,
}

fn checkpoint_sig(key: &AuditKey, seq: i64, mac: &str, at: i64) -> String {
    let mut m = HmacSha256::new_from_slice(&key.0).expect("HMAC takes a key of any length");
    m.update(format!("checkpoint|{seq}|{mac}|{at}").as_bytes());
    hex(&m.finalize().into_bytes())
}

/// A checkpoint of the head now, signed with the connection's audit key, and recorded as an
/// `audit.checkpoint` entry (so that it travels to every stream destination, in order).
pub async fn checkpoint(conn: &mut Conn) -> Result<Checkpoint, AppError> {
    let key = installed(conn).await?;
    let (seq, mac) = head(conn).await?;
    let (mac, at) = (hex(&mac), crate::time_fmt::unix_now());
    let checkpoint = Checkpoint {
        sig: checkpoint_sig(&key, seq, &mac, at),
        seq,
        mac,
        at,
    };
    let detail = serde_json::to_string(&checkpoint).map_err(AppError::internal)?;
    append(
        conn,
        Fields {
            seq: 0,
            at,
            actor_id: None,
            actor_email: None,
            action: "audit.checkpoint",
            target: None,
            detail: &detail,
            client_addr: None,
        },
    )
    .await?;
    Ok(checkpoint)
}

/// A checkpoint, unless nothing was written since the last one (run every 15 minutes).
pub async fn checkpoint_if_moved(conn: &mut Conn) -> Result<bool, AppError> {
    let newest: Option<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    if newest.is_none_or(|action| action == "audit.checkpoint") {
        return Ok(false);
    }
    checkpoint(conn).await.map(|_| true)
}

/// `verify`, and then whether the log still reaches `checkpoint`: an entry deleted from its end
/// since is named.
pub async fn verify_against(
    conn: &mut Conn,
    key: &AuditKey,
    checkpoint: &Checkpoint,
) -> Result<Verdict, AppError> {
    if checkpoint_sig(key, checkpoint.seq, &checkpoint.mac, checkpoint.at) != checkpoint.sig {
        return Err(AppError::invalid(
            "checkpoint",
            "This checkpoint is not signed by this installation's audit key.",
        ));
    }
    let verdict = verify(conn, key).await?;
    if matches!(verdict, Verdict::Broken { .. }) {
        return Ok(verdict);
    }
    let (anchor_seq, anchor_mac): (i64, Vec<u8>) =
        sqlx::query_as("SELECT seq, mac FROM audit_anchor WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
    let stored: Option<Vec<u8>> = if checkpoint.seq == anchor_seq {
        Some(anchor_mac)
    } else if checkpoint.seq < anchor_seq {
        // Pruned by retention since: nothing left to compare.
        return Ok(verdict);
    } else {
        sqlx::query_scalar("SELECT mac FROM audit_log WHERE seq = $1")
            .bind(checkpoint.seq)
            .fetch_optional(&mut *conn)
            .await?
    };
    Ok(match stored {
        Some(mac) if hex(&mac) == checkpoint.mac => verdict,
        Some(_) => Verdict::Broken {
            entry: checkpoint.seq,
            reason: "it is not the entry the checkpoint saw".into(),
        },
        None => {
            let (head, _) = head(conn).await?;
            Verdict::Broken {
                entry: checkpoint.seq,
                reason: format!(
                    "the log ends at entry {head}, before the checkpoint's entry {}: entries were deleted from its end",
                    checkpoint.seq
                ),
            }
        }
    })
}

/// Moves the anchor to the last entry about to be pruned (in the pruning's transaction), so
/// that the entries that remain still verify.
pub async fn anchor_at(conn: &mut Conn, last_pruned_seq: i64) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE audit_anchor SET seq = a.seq, mac = a.mac, updated_at = unixepoch() \
         FROM (SELECT seq, mac FROM audit_log WHERE seq = $1) AS a WHERE audit_anchor.id = 1",
    )
    .bind(last_pruned_seq)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes every MAC again under `new` (a master-key rotation), after checking the chain under
/// `old`; refuses to re-chain a broken chain, which would hide the break.
pub async fn rechain(conn: &mut Conn, old: &AuditKey, new: &AuditKey) -> Result<u64, AppError> {
    if let Verdict::Broken { entry, reason } = verify(conn, old).await? {
        return Err(AppError::Conflict(format!(
            "the audit chain is broken at entry {entry} ({reason}): it was not chained again under the new key"
        )));
    }
    // The anchor keeps its MAC (made under the old key, or zeros): entries after it chain on.
    sqlx::query("UPDATE audit_log SET seq = NULL, mac = NULL")
        .execute(&mut *conn)
        .await?;
    chain_unchained(conn, new).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(seq: i64) -> Fields<'static> {
        Fields {
            seq,
            at: 1_800_000_000,
            actor_id: Some(1),
            actor_email: Some("ada@example.com"),
            action: "principal.role",
            target: Some("bob@example.com"),
            detail: "viewer -> admin",
            client_addr: Some("192.0.2.1"),
        }
    }

    #[test]
    fn the_key_is_derived_for_this_purpose_only() {
        let master = [7u8; 32];
        assert_ne!(AuditKey::derive(&master).0, master);
        assert_eq!(AuditKey::derive(&master), AuditKey::derive(&master));
        assert_ne!(AuditKey::derive(&master), AuditKey::derive(&[8u8; 32]));
    }

    #[test]
    fn every_column_and_the_previous_mac_count() {
        let key = AuditKey::derive(&[1u8; 32]);
        let base = mac(&key, &[0; 32], &fields(1));
        assert_ne!(base, mac(&key, &[1; 32], &fields(1)));
        assert_ne!(base, mac(&key, &[0; 32], &fields(2)));
        let mut other = fields(1);
        other.detail = "viewer -> contributor";
        assert_ne!(base, mac(&key, &[0; 32], &other));
        let mut other = fields(1);
        other.target = None;
        assert_ne!(base, mac(&key, &[0; 32], &other));
        // A value cannot be moved between columns unnoticed.
        let mut moved = fields(1);
        moved.target = Some("viewer -> admin");
        moved.detail = "bob@example.com";
        assert_ne!(base, mac(&key, &[0; 32], &moved));
    }
}
