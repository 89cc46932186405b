-- Ending every session of a user at once: each session remembers the epoch it was signed in
-- under, and stops working when the user's epoch moves on (a password change or reset, "Sign
-- out everywhere", an Admin ending the user's sessions). Read with the user on every request,
-- so it holds for every server process on the database.
ALTER TABLE principals ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
