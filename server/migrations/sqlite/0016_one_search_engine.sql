-- The Users list searches, sorts and counts in one index held in each server's memory
-- (`app/src/users/ssr/index.rs`), fed by `principal_changes` (0012): the database's own search
-- index, the count kept by triggers and the indexes each sort walked are no longer read.
DROP TRIGGER principals_search_insert;
DROP TRIGGER principals_search_delete;
DROP TRIGGER principals_search_update;
DROP TABLE principals_search;
DROP VIEW principals_search_terms;

DROP TRIGGER principal_count_insert;
DROP TRIGGER principal_count_delete;
DROP TABLE principal_count;

DROP INDEX principals_name_initial;
DROP INDEX principals_name_initials;
DROP INDEX principals_name;
DROP INDEX principals_handle;
DROP INDEX principals_kind;
DROP INDEX principals_role;
