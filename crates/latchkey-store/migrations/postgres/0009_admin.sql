-- The same changes as migrations/sqlite/0009_admin.sql, in PostgreSQL types.

ALTER TABLE users ADD COLUMN disabled_at BIGINT;

CREATE TABLE admin_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    key_hash     BYTEA NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX admin_keys_live_name ON admin_keys(name) WHERE revoked_at IS NULL;
