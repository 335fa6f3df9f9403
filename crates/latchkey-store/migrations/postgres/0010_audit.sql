-- The same table as migrations/sqlite/0010_audit.sql, in PostgreSQL types.
CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    user_id    TEXT,
    ip         TEXT,
    user_agent TEXT,
    request_id TEXT,
    detail     TEXT NOT NULL
);
CREATE INDEX audit_events_by_user ON audit_events(user_id, id);
CREATE INDEX audit_events_by_type ON audit_events(type, id);
CREATE INDEX audit_events_by_time ON audit_events(at);
