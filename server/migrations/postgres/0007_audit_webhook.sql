-- Audit streaming to a webhook: the destination row names the Webhook connection it posts to
-- (a connection that streams cannot be removed; the application checks, with a clear message).
ALTER TABLE audit_destinations ADD COLUMN connection_id BIGINT;
