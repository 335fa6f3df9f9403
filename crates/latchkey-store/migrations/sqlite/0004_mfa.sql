-- Second factors: TOTP, recovery codes, and logins waiting for a second step.

-- One TOTP factor per user. secret is sealed with AES-256-GCM under the
-- master key when one is configured (sealed = 1), like signing keys.
-- last_step is the last accepted RFC 6238 time step: a step is accepted
-- only if it is later (a conditional UPDATE), so a code works once.
CREATE TABLE totp_factors (
    user_id      TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret       BLOB NOT NULL,
    sealed       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER
) STRICT;

-- Recovery codes, stored only as SHA-256 hashes (the codes carry 80 random bits).
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;

-- A login whose password step passed and that waits for a second factor.
-- token_hash is the SHA-256 of the mfa_token; client is a hash of the
-- caller's address and user agent.
CREATE TABLE pending_logins (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    flavour    TEXT NOT NULL,
    remember   INTEGER NOT NULL,
    client     BLOB NOT NULL,
    passed     TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX pending_logins_by_user ON pending_logins(user_id);
CREATE INDEX pending_logins_by_expiry ON pending_logins(expires_at);
