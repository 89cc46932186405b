//! The in-memory view of the keys that the REST API checks on every request: no database
//! round trip on the hot path, usage counted in memory and written in batches.

use super::{format, sealing};
use crate::api_keys::{Environment, KeySlot};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
};
use subtle::ConstantTimeEq;

#[derive(Clone, Debug)]
pub struct CachedKey {
    pub id: i64,
    pub slot: KeySlot,
    pub digest: [u8; 32],
    pub expires_at: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub enabled: bool,
    pub keys: Vec<CachedKey>,
    pub environment: Environment,
    /// `environment` as the REST API sends it, serialised once per reload instead of per call.
    pub environment_json: axum::body::Bytes,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid(KeySlot),
    /// A valid key while the API is disabled.
    Disabled,
    /// Missing from the ring, expired, or not a key at all.
    Invalid,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub count: i64,
    pub last_used_at: i64,
}

#[derive(Debug, Default)]
pub struct KeyRing {
    snapshot: RwLock<Arc<Snapshot>>,
    usage: Mutex<HashMap<i64, Usage>>,
    /// Serialises reloads so that an older read never replaces a newer one.
    pub(super) reload_lock: tokio::sync::Mutex<()>,
}

impl KeyRing {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_default()
    }

    pub fn replace(&self, snapshot: Snapshot) {
        if let Ok(mut current) = self.snapshot.write() {
            *current = Arc::new(snapshot);
        }
    }

    /// Checks `presented` against every live key with a constant-time comparison of SHA-256
    /// digests, so the time taken does not depend on how much of a guess was right.
    pub fn verify(&self, presented: &str, now: i64) -> Verdict {
        if !format::is_well_formed(presented) {
            return Verdict::Invalid;
        }
        let digest = sealing::digest(presented);
        let snapshot = self.snapshot();
        let mut matched: Option<&CachedKey> = None;
        for key in &snapshot.keys {
            let same: bool = key.digest.ct_eq(&digest).into();
            let live = key.expires_at.is_none_or(|at| at > now);
            if same && live {
                matched = Some(key);
            }
        }
        match matched {
            None => Verdict::Invalid,
            Some(_) if !snapshot.enabled => Verdict::Disabled,
            Some(key) => {
                self.count_use(key.id, now);
                Verdict::Valid(key.slot)
            }
        }
    }

    fn count_use(&self, key_id: i64, now: i64) {
        if let Ok(mut usage) = self.usage.lock() {
            let entry = usage.entry(key_id).or_default();
            entry.count += 1;
            entry.last_used_at = entry.last_used_at.max(now);
        }
    }

    /// Hands over the usage counted since the last call (for the batched write).
    pub fn take_usage(&self) -> HashMap<i64, Usage> {
        self.usage
            .lock()
            .map(|mut u| std::mem::take(&mut *u))
            .unwrap_or_default()
    }

    /// Puts back usage that could not be written, so that it is retried, not lost.
    pub fn restore_usage(&self, pending: HashMap<i64, Usage>) {
        if let Ok(mut usage) = self.usage.lock() {
            for (id, u) in pending {
                let entry = usage.entry(id).or_default();
                entry.count += u.count;
                entry.last_used_at = entry.last_used_at.max(u.last_used_at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_with(key: &str, enabled: bool, expires_at: Option<i64>) -> KeyRing {
        let ring = KeyRing::default();
        ring.replace(Snapshot {
            enabled,
            keys: vec![CachedKey {
                id: 1,
                slot: KeySlot::Primary,
                digest: sealing::digest(key),
                expires_at,
            }],
            ..Snapshot::default()
        });
        ring
    }

    #[test]
    fn a_live_key_is_valid_and_counted() {
        let key = format::generate();
        let ring = ring_with(&key, true, None);
        assert_eq!(ring.verify(&key, 100), Verdict::Valid(KeySlot::Primary));
        assert_eq!(ring.verify(&key, 105), Verdict::Valid(KeySlot::Primary));
        assert_eq!(
            ring.take_usage()[&1],
            Usage {
                count: 2,
                last_used_at: 105
            }
        );
        assert!(ring.take_usage().is_empty());
    }

    #[test]
    fn wrong_expired_and_disabled_keys_are_refused() {
        let key = format::generate();
        assert_eq!(
            ring_with(&key, true, None).verify(&format::generate(), 1),
            Verdict::Invalid
        );
        assert_eq!(
            ring_with(&key, true, Some(50)).verify(&key, 50),
            Verdict::Invalid
        );
        assert_eq!(
            ring_with(&key, true, Some(50)).verify(&key, 49),
            Verdict::Valid(KeySlot::Primary)
        );
        assert_eq!(
            ring_with(&key, false, None).verify(&key, 1),
            Verdict::Disabled
        );
        assert_eq!(
            ring_with(&key, true, None).verify("not a key", 1),
            Verdict::Invalid
        );
    }
}
