-- Operators: disabled accounts and admin API keys.

-- A disabled user's sign-ins fail exactly like a wrong password; disabling
-- ends every session and token family in the same transaction.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- Admin API keys. key_hash is SHA-256 of the key: the key itself is shown
-- once by `latchkey admin-keys create` and never stored. scopes is
-- space-separated. A revoked key's name may be used again.
CREATE TABLE admin_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE UNIQUE INDEX admin_keys_live_name ON admin_keys(name) WHERE revoked_at IS NULL;
