-- A tamper-evident audit log: every entry carries its sequence number and a MAC chained to the
-- previous entry's, mac_n = HMAC-SHA256(audit_key, mac_(n-1) || canonical(entry_n)), under a key
-- derived from the master key (`app/src/audit/chain.rs`), so that database access alone cannot
-- recompute the chain. Entries written before this migration are chained, in id order, by the
-- first server that starts after it (SQL cannot compute the MAC: it needs the key).
ALTER TABLE audit_log ADD COLUMN seq INTEGER;
ALTER TABLE audit_log ADD COLUMN mac BLOB CHECK (mac IS NULL OR length(mac) = 32);
-- One entry per sequence number: two servers appending at once cannot both take the same one.
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq) WHERE seq IS NOT NULL;

-- Where the chain starts: nothing (sequence 0, a MAC of zeros) until retention prunes entries,
-- then the last pruned entry's sequence and MAC, so that what remains still verifies.
CREATE TABLE audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    mac BLOB NOT NULL CHECK (length(mac) = 32),
    updated_at INTEGER
);
INSERT INTO audit_anchor (id, seq, mac) VALUES (1, 0, zeroblob(32));
