-- Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

-- secret_hash is SHA-256 of the cookie secret; the secret itself is never stored.
CREATE TABLE sessions (
    secret_hash         BLOB PRIMARY KEY NOT NULL,
    handle              TEXT NOT NULL UNIQUE,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    idle_expires_at     INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    persistent          INTEGER NOT NULL,
    user_agent          TEXT,
    ip                  TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_idle_expiry ON sessions(idle_expires_at);

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE login_failures (
    key        TEXT PRIMARY KEY NOT NULL,
    count      INTEGER NOT NULL,
    started_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX login_failures_by_start ON login_failures(started_at);
