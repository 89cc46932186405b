-- SCIM 2.0 provisioning (RFC 7643/7644): an identity provider creates, updates, deactivates
-- and deletes users and groups.
--
-- A deactivated user is kept (with their groups and audit trail) but cannot sign in, and their
-- sessions end at once (their session epoch moves on when they are deactivated).
ALTER TABLE principals ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));
-- A user's SCIM `userName` when it is not their email (Keycloak's usernames, say); NULL when
-- it is. The email (`handle`) stays what they sign in with.
ALTER TABLE principals ADD COLUMN scim_user_name TEXT COLLATE NOCASE
    CHECK (scim_user_name IS NULL OR (kind = 'user' AND length(scim_user_name) BETWEEN 1 AND 254));
CREATE UNIQUE INDEX principals_scim_user_name ON principals (scim_user_name)
    WHERE scim_user_name IS NOT NULL;
-- What an identity provider set on a user that Gatehouse keeps as it was sent (SCIM
-- `displayName`, `name`, `emails`, whether `active` was given), as a JSON object, so that a
-- resource reads back as it was written. The columns above stay what sign-in and the Users tab
-- go by.
ALTER TABLE principals ADD COLUMN scim_attributes TEXT CHECK (scim_attributes IS NULL OR json_valid(scim_attributes));
-- The identity provider's own id for a user or group (SCIM `externalId`), as it sent it.
ALTER TABLE principals ADD COLUMN external_id TEXT CHECK (length(external_id) <= 254);
CREATE INDEX principals_external_id ON principals (external_id) WHERE external_id IS NOT NULL;

-- The one bearer token an identity provider authenticates with. Only its SHA-256 is kept
-- (256 random bits: a fast hash is enough); `enabled` = 0 refuses it without forgetting when
-- it was made.
CREATE TABLE provisioning_token (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    digest BLOB NOT NULL CHECK (length(digest) = 32),
    created_at INTEGER NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    last_used_at INTEGER
);

-- SCIM's meta.lastModified: set by any change of what a principal is (NULL: never changed, the
-- creation time stands).
ALTER TABLE principals ADD COLUMN updated_at TEXT;
CREATE TRIGGER principals_touched
AFTER UPDATE OF kind, name, handle, role, lockbox_approver, active, external_id ON principals
BEGIN
    UPDATE principals SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = new.id;
END;
