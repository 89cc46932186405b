-- A search of one or two characters sorted by Email/ID lists, beside the principals whose
-- email/ID starts with them (one stretch of `principals_handle`), those whose name does, in
-- Email/ID order. These indexes hold the latter in one stretch too, however many there are, so
-- that a page reads 51 entries instead of looking up every such principal to sort them.
-- lower() folds ASCII letters, as NOCASE compares; such a search is ASCII (search.rs).
CREATE INDEX principals_name_initial ON principals (lower(substr(name, 1, 1)), handle);
CREATE INDEX principals_name_initials ON principals (lower(substr(name, 1, 2)), handle);
