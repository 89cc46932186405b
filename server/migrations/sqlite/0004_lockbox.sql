-- Customer Lockbox: support access to customer data only through approved, time-boxed requests.

-- The policy (one row). Durations are seconds (4 days, 8 hours); the server's configuration
-- may fix them instead (GATEHOUSE_LOCKBOX_*_SECONDS).
CREATE TABLE lockbox_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    approvals_required INTEGER NOT NULL DEFAULT 1 CHECK (approvals_required IN (1, 2)),
    request_expiry_secs INTEGER NOT NULL DEFAULT 345600 CHECK (request_expiry_secs > 0),
    access_period_secs INTEGER NOT NULL DEFAULT 28800 CHECK (access_period_secs > 0),
    updated_at INTEGER
);
INSERT INTO lockbox_policy (id) VALUES (1);

-- One row per request a support application filed. `status` is what was decided; whether a
-- request is still live is always computed from the times as well (see `lockbox::ssr`), so a
-- late sweeper or a restart never lets a request outlive its time.
CREATE TABLE lockbox_requests (
    id INTEGER PRIMARY KEY,
    application_id INTEGER REFERENCES principals (id) ON DELETE SET NULL,
    application_name TEXT NOT NULL,
    ticket TEXT NOT NULL CHECK (length(ticket) BETWEEN 1 AND 64),
    justification TEXT NOT NULL CHECK (length(justification) BETWEEN 1 AND 2000),
    engineer_name TEXT NOT NULL CHECK (length(engineer_name) BETWEEN 1 AND 200),
    engineer_email TEXT NOT NULL CHECK (length(engineer_email) BETWEEN 3 AND 254),
    access TEXT NOT NULL CHECK (access IN ('read')),
    access_period_secs INTEGER NOT NULL CHECK (access_period_secs > 0),
    requested_at INTEGER NOT NULL,
    request_expires_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'revoked')),
    -- Approved without an approver because the policy was off.
    by_policy INTEGER NOT NULL DEFAULT 0 CHECK (by_policy IN (0, 1)),
    decided_at INTEGER,
    access_ends_at INTEGER,
    CHECK (status <> 'approved' OR (decided_at IS NOT NULL AND access_ends_at IS NOT NULL))
);
CREATE INDEX lockbox_requests_status ON lockbox_requests (status, request_expires_at);
CREATE INDEX lockbox_requests_requested ON lockbox_requests (requested_at);

-- Each approver's decision; the primary key makes "the same approver twice" impossible.
CREATE TABLE lockbox_approvals (
    request_id INTEGER NOT NULL REFERENCES lockbox_requests (id) ON DELETE CASCADE,
    approver_id INTEGER NOT NULL,
    approver_email TEXT NOT NULL,
    decided_at INTEGER NOT NULL,
    PRIMARY KEY (request_id, approver_id)
);

-- A request's history as its details pane shows it.
CREATE TABLE lockbox_events (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES lockbox_requests (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    actor TEXT,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX lockbox_events_request ON lockbox_events (request_id, id);
