-- Key Vault: the organisation's own secret store, and the connections that take their
-- credentials from it (or hold one themselves, encrypted under the master key).

-- The link (at most one). The vault's own credential (token, AppRole secret ID, Azure client
-- secret) is sealed under the master key like the API keys; the status is what the last check
-- found, written by whichever server process ran it.
CREATE TABLE key_vault (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    backend TEXT NOT NULL CHECK (backend IN ('open_bao', 'azure')),
    address TEXT NOT NULL,
    mount TEXT NOT NULL DEFAULT '',
    path_prefix TEXT NOT NULL DEFAULT '',
    namespace TEXT NOT NULL DEFAULT '',
    auth TEXT NOT NULL CHECK (auth IN ('token', 'app_role', 'client_secret')),
    principal_id TEXT NOT NULL DEFAULT '',
    tenant_id TEXT NOT NULL DEFAULT '',
    authority_host TEXT NOT NULL DEFAULT '',
    credential_nonce BLOB NOT NULL,
    credential_ciphertext BLOB NOT NULL,
    healthy INTEGER NOT NULL DEFAULT 1 CHECK (healthy IN (0, 1)),
    unreachable_since INTEGER,
    last_error TEXT,
    last_checked_at INTEGER,
    linked_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Credentials to third-party systems. `settings` holds the non-secret fields as JSON; the
-- secret part is either sealed here or named in the linked vault, never both.
CREATE TABLE connections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'smtp')),
    settings TEXT NOT NULL,
    vault_secret TEXT CHECK (vault_secret IS NULL OR length(vault_secret) BETWEEN 1 AND 512),
    secret_nonce BLOB,
    secret_ciphertext BLOB,
    audience TEXT NOT NULL CHECK (audience IN ('admin', 'contributor')),
    last_verified_at INTEGER,
    last_verify_ok INTEGER CHECK (last_verify_ok IN (0, 1)),
    last_verify_message TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((vault_secret IS NULL) = (secret_ciphertext IS NOT NULL))
);
