-- Every change to what the Users list sorts and searches on (kind, name, email/ID, role), in
-- order, so that each server process brings its copy of those in memory up to date by reading
-- only what changed since it last looked (`app/src/users/ssr/memory.rs`). Rows older than an
-- hour are pruned; a process that fell further behind reads everything again.
CREATE TABLE principal_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id INTEGER NOT NULL,
    at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX principal_changes_at ON principal_changes (at);

CREATE TRIGGER principal_changes_insert AFTER INSERT ON principals BEGIN
    INSERT INTO principal_changes (id) VALUES (new.id);
END;
CREATE TRIGGER principal_changes_update AFTER UPDATE OF kind, name, handle, role ON principals BEGIN
    INSERT INTO principal_changes (id) VALUES (new.id);
END;
CREATE TRIGGER principal_changes_delete AFTER DELETE ON principals BEGIN
    INSERT INTO principal_changes (id) VALUES (old.id);
END;
