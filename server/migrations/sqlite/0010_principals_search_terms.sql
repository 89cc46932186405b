-- The search index, rebuilt so that every search is answered from it in a few milliseconds at
-- a million principals (`app/src/users/ssr/search.rs` says how each is planned):
--
-- * Its rowid is the principal's id with the kind in bits 40 and up (application 0, group 1,
--   user 2: the Type sort's order), so a search counts its matches of one kind by a rowid range
--   instead of walking every principal of a kind that has none.
-- * Each column starts with markers that no name or address can hold (control characters are
--   refused in both), so the start of a field is a trigram of its own: one or two characters
--   match the start of the name (`\x01\x01k`, `\x01ka`) or of the email/ID (`\x02\x02k`,
--   `\x02ka`) through the index, counted like any other search.
-- * `starts` holds the start of the email/ID where the name starts differently (`\x03`), and the
--   start of the name where the email/ID starts differently (`\x04`), in ASCII case folding as
--   the NOCASE indexes compare: a short search that matches many reads the sort's own index for
--   the field it sorts on and takes only these few from the search index.
--
-- Contentless: the index keeps no copy of the text; the triggers keep it in step through one
-- view, so the terms are spelt once. SQLite only (FTS5); PostgreSQL would use pg_trgm.
DROP TRIGGER principals_search_insert;
DROP TRIGGER principals_search_delete;
DROP TRIGGER principals_search_update;
DROP TABLE principals_search;

CREATE VIEW principals_search_terms AS
SELECT
    id,
    ((CASE kind WHEN 'application' THEN 0 WHEN 'group' THEN 1 ELSE 2 END) << 40) | id AS term_id,
    char(1, 1) || name AS name,
    char(2, 2) || handle AS handle,
    CASE WHEN lower(substr(handle, 1, 1)) <> lower(substr(name, 1, 1))
         THEN char(3, 3) || substr(handle, 1, 1) ELSE '' END || ' ' ||
    CASE WHEN lower(substr(handle, 1, 2)) <> lower(substr(name, 1, 2))
         THEN char(3) || substr(handle, 1, 2) ELSE '' END || ' ' ||
    CASE WHEN lower(substr(name, 1, 1)) <> lower(substr(handle, 1, 1))
         THEN char(4, 4) || substr(name, 1, 1) ELSE '' END || ' ' ||
    CASE WHEN lower(substr(name, 1, 2)) <> lower(substr(handle, 1, 2))
         THEN char(4) || substr(name, 1, 2) ELSE '' END AS starts
FROM principals;

CREATE VIRTUAL TABLE principals_search USING fts5(
    name, handle, starts,
    content = '', contentless_delete = 1,
    tokenize = 'trigram', detail = full
);
INSERT INTO principals_search (rowid, name, handle, starts)
SELECT term_id, name, handle, starts FROM principals_search_terms;

CREATE TRIGGER principals_search_insert AFTER INSERT ON principals BEGIN
    INSERT INTO principals_search (rowid, name, handle, starts)
    SELECT term_id, name, handle, starts FROM principals_search_terms WHERE id = new.id;
END;
CREATE TRIGGER principals_search_delete AFTER DELETE ON principals BEGIN
    DELETE FROM principals_search
    WHERE rowid = ((CASE old.kind WHEN 'application' THEN 0 WHEN 'group' THEN 1 ELSE 2 END) << 40) | old.id;
END;
CREATE TRIGGER principals_search_update AFTER UPDATE OF name, handle ON principals BEGIN
    DELETE FROM principals_search
    WHERE rowid = ((CASE old.kind WHEN 'application' THEN 0 WHEN 'group' THEN 1 ELSE 2 END) << 40) | old.id;
    INSERT INTO principals_search (rowid, name, handle, starts)
    SELECT term_id, name, handle, starts FROM principals_search_terms WHERE id = new.id;
END;
