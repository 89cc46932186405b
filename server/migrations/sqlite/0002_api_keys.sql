-- The environment this Gatehouse guards (one row).
CREATE TABLE environment (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    public_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
INSERT INTO environment (id, public_id, name)
VALUES (1, lower(hex(randomblob(16))), 'Default environment');

-- Whether the REST API accepts keys (one row). Disabling keeps the keys.
CREATE TABLE api_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    first_enabled_at INTEGER
);
INSERT INTO api_settings (id) VALUES (1);

-- API keys, encrypted under the master key; looked up by SHA-256 digest.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    slot TEXT NOT NULL CHECK (slot IN ('primary', 'secondary')),
    digest BLOB NOT NULL UNIQUE CHECK (length(digest) = 32),
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    -- The last characters, for the masked display.
    hint TEXT NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (unixepoch()),
    -- NULL for the slot's current key; set for a replaced key during its grace period.
    expires_at INTEGER,
    last_used_at INTEGER,
    request_count INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_keys_current ON api_keys (slot) WHERE expires_at IS NULL;

-- A value sealed with the master key at first start: opening it proves the key is the same.
CREATE TABLE master_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL
);

-- Security changes. Shared by every tab.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_id INTEGER,
    actor_email TEXT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    client_addr TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
