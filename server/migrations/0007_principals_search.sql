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
