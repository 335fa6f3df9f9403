-- The audit trail: one row per security event. user_id is not a
-- reference: a user's events outlive the user. detail is a small JSON
-- object and never holds a secret.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT NOT NULL,
    at         INTEGER NOT NULL,
    user_id    TEXT,
    ip         TEXT,
    user_agent TEXT,
    request_id TEXT,
    detail     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_by_user ON audit_events(user_id, id);
CREATE INDEX audit_events_by_type ON audit_events(type, id);
CREATE INDEX audit_events_by_time ON audit_events(at);
