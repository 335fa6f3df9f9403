-- The same table as migrations/sqlite/0012_webhooks.sql, in PostgreSQL types.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook         TEXT NOT NULL,
    event_id        BIGINT NOT NULL REFERENCES audit_events(id) ON DELETE CASCADE,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    state           TEXT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
-- One delivery per event and webhook.
CREATE UNIQUE INDEX webhook_deliveries_by_event ON webhook_deliveries(event_id, webhook);
