-- The user a pending Lockbox change is about, as a column of its own rather than read out of
-- its JSON: the Users list's query stays the same on PostgreSQL (`migrations/postgres`).
ALTER TABLE lockbox_pending_changes ADD COLUMN user_id INTEGER;
UPDATE lockbox_pending_changes SET user_id = json_extract(payload, '$.user_id');
CREATE INDEX lockbox_pending_changes_user ON lockbox_pending_changes (user_id)
    WHERE user_id IS NOT NULL;

-- SCIM finds users by userName and groups by displayName through `lower(…)`, the same query on
-- both databases (`app/src/provisioning/ssr/directory.rs`): these indexes serve it here.
CREATE INDEX principals_scim_user_name_folded ON principals (lower(scim_user_name));
CREATE INDEX principals_kind_name_folded ON principals (kind, lower(name));
