-- Local accounts. The role is read on every request, so a change applies at once.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(email) BETWEEN 3 AND 254),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- NULL until the user has chosen a password (an invitation not yet accepted).
    password_hash TEXT,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'contributor', 'admin')),
    lockbox_approver INTEGER NOT NULL DEFAULT 0 CHECK (lockbox_approver IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE INDEX users_role ON users (role);
