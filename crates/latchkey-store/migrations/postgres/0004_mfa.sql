-- The same tables as migrations/sqlite/0004_mfa.sql, in PostgreSQL types.

CREATE TABLE totp_factors (
    user_id      TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       BYTEA NOT NULL,
    sealed       BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT
);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, hash)
);

CREATE TABLE pending_logins (
    token_hash BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    flavour    TEXT NOT NULL,
    remember   BOOLEAN NOT NULL,
    client     BYTEA NOT NULL,
    passed     TEXT NOT NULL,
    attempts   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_logins_by_user ON pending_logins(user_id);
CREATE INDEX pending_logins_by_expiry ON pending_logins(expires_at);
