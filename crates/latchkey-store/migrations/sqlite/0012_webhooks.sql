-- Webhook deliveries: one row per audit event and subscribed webhook,
-- written in the event's transaction, drained by each node's sender like
-- the e-mail outbox (state: pending, sent, failed; a claim moves
-- next_attempt_at past a lease). id is the delivery id receivers see in
-- Latchkey-Webhook-Id, the same on every retry. The body is built from
-- the event when it is sent, so a row holds no copy of it.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    webhook         TEXT NOT NULL,
    event_id        INTEGER NOT NULL REFERENCES audit_events(id) ON DELETE CASCADE,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    state           TEXT NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
-- One delivery per event and webhook.
CREATE UNIQUE INDEX webhook_deliveries_by_event ON webhook_deliveries(event_id, webhook);
