-- The session store's table, as tower-sessions-sqlx-store creates it, made here under the
-- migrations' lock: two servers starting at once would otherwise both create it, and
-- PostgreSQL refuses the second `CREATE TABLE IF NOT EXISTS` of a race.
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data BYTEA NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);
