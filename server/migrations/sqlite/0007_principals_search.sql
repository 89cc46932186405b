-- Search by any part of a name or an email/ID: a trigram index over both columns. Every
-- three-character window of the text is a term, so a query of three characters or more is a
-- phrase of its own trigrams and matches exactly the rows that contain it, in any case
-- (the tokenizer folds case). Shorter queries keep matching a prefix through the NOCASE
-- indexes of 0003.
--
-- External content: the index keeps no copy of the text, only its terms; the triggers keep
-- it in step with `principals`. SQLite only: a PostgreSQL migration would use pg_trgm.
CREATE VIRTUAL TABLE principals_search USING fts5(
    name, handle,
    content = 'principals', content_rowid = 'id',
    tokenize = 'trigram', detail = full
);
INSERT INTO principals_search (principals_search) VALUES ('rebuild');

CREATE TRIGGER principals_search_insert AFTER INSERT ON principals BEGIN
    INSERT INTO principals_search (rowid, name, handle) VALUES (new.id, new.name, new.handle);
END;
CREATE TRIGGER principals_search_delete AFTER DELETE ON principals BEGIN
    INSERT INTO principals_search (principals_search, rowid, name, handle)
    VALUES ('delete', old.id, old.name, old.handle);
END;
CREATE TRIGGER principals_search_update AFTER UPDATE OF name, handle ON principals BEGIN
    INSERT INTO principals_search (principals_search, rowid, name, handle)
    VALUES ('delete', old.id, old.name, old.handle);
    INSERT INTO principals_search (rowid, name, handle) VALUES (new.id, new.name, new.handle);
END;

-- The list's total without counting a million rows on every page: kept by triggers, in the
-- same transaction as the change (a single row, so writers queue on it as they do anyway).
CREATE TABLE principal_count (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL CHECK (n >= 0)
);
INSERT INTO principal_count (id, n) SELECT 1, COUNT(*) FROM principals;
CREATE TRIGGER principal_count_insert AFTER INSERT ON principals BEGIN
    UPDATE principal_count SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER principal_count_delete AFTER DELETE ON principals BEGIN
    UPDATE principal_count SET n = n - 1 WHERE id = 1;
END;
