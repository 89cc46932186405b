-- Embedding the Security page in a portal: the portals allowed to frame it, the secret their
-- backends sign embed tokens with, the tokens already used, and the embed sessions the frames
-- hold (in memory, sent as a header: no cookie is needed inside a third-party frame).

-- Exact origins (`scheme://host[:port]`, lower case, no path). The CSP `frame-ancestors` of
-- `/embed/*` and the token's `origin` claim are checked against this list.
CREATE TABLE embed_origins (
    origin TEXT PRIMARY KEY CHECK (length(origin) BETWEEN 8 AND 300),
    added_at INTEGER NOT NULL
);

-- The one HS256 secret, sealed under the master key like the API keys.
CREATE TABLE embed_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- Each token works once: its `jti` is kept until the token would have expired anyway.
CREATE TABLE embed_token_uses (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX embed_token_uses_expiry ON embed_token_uses (expires_at);

-- Only the SHA-256 of a session's token is stored. The user's session epoch at the exchange
-- ends the session when the user's sessions are ended (as for cookie sessions); removing a user
-- removes their embed sessions.
CREATE TABLE embed_sessions (
    digest BLOB PRIMARY KEY CHECK (length(digest) = 32),
    user_id INTEGER NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    origin TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX embed_sessions_expiry ON embed_sessions (expires_at);
CREATE INDEX embed_sessions_user ON embed_sessions (user_id);
