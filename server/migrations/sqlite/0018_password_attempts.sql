-- Password attempts of the last minute, per client and per account (`app/src/auth/throttle.rs`):
-- in the database, so that every server on it counts them together.
CREATE TABLE password_attempts (
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX password_attempts_key ON password_attempts (key, at);
