-- Audit streaming (`app/src/audit/stream.rs`): how far each destination has received the
-- chained audit log (its outbox cursor), and its last failure, for the Users tab's card.
CREATE TABLE audit_destinations (
    name TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    delivered_seq INTEGER NOT NULL DEFAULT 0,
    last_delivered_at INTEGER,
    last_error TEXT,
    last_error_at INTEGER
);
