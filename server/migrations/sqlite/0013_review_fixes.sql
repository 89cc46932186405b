-- Fixes from the outside security review (issue 27).

-- Support applications: only applications an Admin marked so on the Users tab may file Customer
-- Lockbox requests and read customer data through /api/v1/support/*.
ALTER TABLE principals ADD COLUMN support_application INTEGER NOT NULL DEFAULT 0
    CHECK (support_application IN (0, 1) AND (support_application = 0 OR kind = 'application'));

-- Users and groups that provisioning (SCIM) created. SCIM may change, deactivate, delete and
-- fill only these; what an Admin added on the Users tab is out of its reach. Principals SCIM
-- created before this column existed are known by their audit rows.
ALTER TABLE principals ADD COLUMN provisioned INTEGER NOT NULL DEFAULT 0
    CHECK (provisioned IN (0, 1) AND (provisioned = 0 OR kind IN ('user', 'group')));
UPDATE principals SET provisioned = 1
WHERE kind IN ('user', 'group')
  AND handle IN (SELECT target FROM audit_log WHERE action = 'scim.create' AND target IS NOT NULL);

-- A user who chose their own password (accepted an invitation or a reset link, changed it, or
-- was created with one from the command line). Only such a user can be made a Lockbox approver:
-- a password an Admin could know (or set through a link they hold) is no second person.
ALTER TABLE principals ADD COLUMN password_chosen INTEGER NOT NULL DEFAULT 0
    CHECK (password_chosen IN (0, 1));
UPDATE principals SET password_chosen = 1 WHERE password_hash IS NOT NULL;

-- Changes that weaken the two-person rule wait here for a second Lockbox approver while
-- Approvals required is 2: the policy turned off or down to one approval, Lockbox approver
-- granted, an approver's password reset.
CREATE TABLE lockbox_pending_changes (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('policy', 'grant_approver', 'reset_password')),
    -- What the change does, as JSON (the new policy; the user it is about).
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    summary TEXT NOT NULL,
    proposed_by INTEGER NOT NULL,
    proposed_by_email TEXT NOT NULL,
    proposed_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    decided_by_email TEXT,
    decided_at INTEGER
);
CREATE INDEX lockbox_pending_changes_status ON lockbox_pending_changes (status, id);

-- Per-portal embed secrets: each allowed origin gets its own HS256 secret, sealed under the
-- master key like the shared one. NULL: the portal still signs with the shared secret
-- (`embed_secret`), accepted for it until its own secret is generated.
ALTER TABLE embed_origins ADD COLUMN secret_nonce BLOB;
ALTER TABLE embed_origins ADD COLUMN secret_ciphertext BLOB;
ALTER TABLE embed_origins ADD COLUMN secret_created_at INTEGER;
