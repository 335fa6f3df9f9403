-- Refresh-token families: one per token login (bearer or hybrid).
CREATE TABLE refresh_families (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
CREATE INDEX refresh_families_by_user ON refresh_families(user_id);
CREATE INDEX refresh_families_by_expiry ON refresh_families(expires_at);

-- hash is SHA-256 of the refresh token; tokens are never stored in the clear.
CREATE TABLE refresh_tokens (
    hash           BLOB PRIMARY KEY NOT NULL,
    family_id      TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    issued_at      INTEGER NOT NULL,
    spent_at       INTEGER,
    successor_hash BLOB
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_by_family ON refresh_tokens(family_id);

-- The access-token denylist, written through from every node's memory.
-- seq orders entries so that a node can read only what is new.
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('jti', 'sid', 'user')),
    value      TEXT NOT NULL,
    at         INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revocations_by_expiry ON revocations(expires_at);

-- Signing keys. private is PKCS#8 (or the HS256 secret), sealed with
-- AES-256-GCM when a master key is configured.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY NOT NULL,
    alg        TEXT NOT NULL,
    private    BLOB NOT NULL,
    sealed     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER,
    not_after  INTEGER
) STRICT;
