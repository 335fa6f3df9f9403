-- The same tables as migrations/sqlite/0001_init.sql, in PostgreSQL types.
-- Times are milliseconds since the Unix epoch (UTC), as BIGINT.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- secret_hash is SHA-256 of the cookie secret; the secret itself is never stored.
CREATE TABLE sessions (
    secret_hash         BYTEA PRIMARY KEY,
    handle              TEXT NOT NULL UNIQUE,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at          BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    idle_expires_at     BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    persistent          BOOLEAN NOT NULL,
    user_agent          TEXT,
    ip                  TEXT
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_idle_expiry ON sessions(idle_expires_at);

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE login_failures (
    key        TEXT PRIMARY KEY,
    count      BIGINT NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_start ON login_failures(started_at);
