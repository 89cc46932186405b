-- The Single sign-on card's settings (`app/src/sso/settings.rs`): one row, the client secret
-- sealed under the master key or named in the linked Key Vault; and whether single sign-on is
-- required. Break-glass users keep password sign-in while it is.
CREATE TABLE sso_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    issuer TEXT,
    client_id TEXT,
    secret_nonce BYTEA,
    secret_ciphertext BYTEA,
    vault_secret TEXT,
    name TEXT NOT NULL DEFAULT 'single sign-on',
    require_sso BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO sso_settings (id) VALUES (1);
ALTER TABLE principals ADD COLUMN break_glass BOOLEAN NOT NULL DEFAULT FALSE;
