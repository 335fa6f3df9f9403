-- The same tables as migrations/sqlite/0002_tokens.sql, in PostgreSQL types.

-- Refresh-token families: one per token login (bearer or hybrid).
CREATE TABLE refresh_families (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX refresh_families_by_user ON refresh_families(user_id);
CREATE INDEX refresh_families_by_expiry ON refresh_families(expires_at);

-- hash is SHA-256 of the refresh token; tokens are never stored in the clear.
CREATE TABLE refresh_tokens (
    hash           BYTEA PRIMARY KEY,
    family_id      TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    issued_at      BIGINT NOT NULL,
    spent_at       BIGINT,
    successor_hash BYTEA
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens(family_id);

-- The access-token denylist, written through from every node's memory.
-- seq orders entries so that a node can read only what is new. Writers
-- take a table lock before inserting (see postgres/tokens.rs), so seq
-- order is also commit order and a reader's cursor never skips a row.
CREATE TABLE revocations (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('jti', 'sid', 'user')),
    value      TEXT NOT NULL,
    at         BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revocations_by_expiry ON revocations(expires_at);

-- Signing keys. private is PKCS#8 (or the HS256 secret), sealed with
-- AES-256-GCM when a master key is configured.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    alg        TEXT NOT NULL,
    private    BYTEA NOT NULL,
    sealed     BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    not_after  BIGINT
);
-- At most one current (unretired) key: two nodes starting at once cannot
-- both store a first key (add_first_key inserts ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys ((true))
    WHERE retired_at IS NULL;
