-- Principals: users, groups and applications in one table, so that the Users tab can sort,
-- search and page over all of them with one indexed query. Replaces `users`.
--
-- AUTOINCREMENT: a removed principal's id is never given to a new one, so a session that still
-- names a removed user can never wake up as somebody else.
CREATE TABLE principals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'group', 'application')),
    name TEXT NOT NULL COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 200),
    -- "Email/ID": a user's email; a group's or application's generated ID.
    handle TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(handle) BETWEEN 3 AND 254),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'contributor', 'admin')),
    lockbox_approver INTEGER NOT NULL DEFAULT 0 CHECK (lockbox_approver IN (0, 1)),
    -- Users only; NULL until the user accepts their invitation.
    password_hash TEXT CHECK (password_hash IS NULL OR kind = 'user'),
    -- Applications only: SHA-256 of the client secret (256 random bits, so no slow hash needed).
    secret_digest BLOB UNIQUE
        CHECK (secret_digest IS NULL OR (kind = 'application' AND length(secret_digest) = 32)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

INSERT INTO principals (id, kind, name, handle, role, lockbox_approver, password_hash, created_at)
SELECT id, 'user', name, email, role, lockbox_approver, password_hash, created_at FROM users;
DROP TABLE users;

-- One index per sort; each ends in the handle (unique), the list's tie-breaker, so that a sort
-- is a walk along one index and pages never overlap. Search matches a prefix of the name or the
-- handle: the name index and `principals_handle` carry every column a sort needs, so a search
-- sorts its matches without reading the table.
CREATE INDEX principals_name ON principals (name, handle, kind, role);
CREATE INDEX principals_handle ON principals (handle, name, kind, role);
CREATE INDEX principals_kind ON principals (kind, name, handle);
CREATE INDEX principals_role ON principals (role, name, handle);
-- Groups and applications are known by name, so a name names one of each.
CREATE UNIQUE INDEX principals_named_once ON principals (kind, name) WHERE kind <> 'user';

-- A user's effective role is the highest of their own and their groups'.
CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    added_at INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id);

-- One-time invitation links. Only the token's SHA-256 is kept.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    token_digest BLOB NOT NULL UNIQUE CHECK (length(token_digest) = 32),
    created_at INTEGER NOT NULL DEFAULT (unixepoch()),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX invitations_user ON invitations (user_id);

-- Whom a change was about (a principal's email or ID), for the audit view.
ALTER TABLE audit_log ADD COLUMN target TEXT;
