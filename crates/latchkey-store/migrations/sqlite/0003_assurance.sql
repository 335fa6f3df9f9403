-- no-transaction
-- Accounts without a password (password_hash NULL: a passkey or a provider
-- is their way in), and the assurance of each sign-in: `amr` (RFC 8176
-- values separated by single spaces) and `auth_time` (milliseconds) on
-- sessions and refresh families.
--
-- SQLite cannot drop a NOT NULL constraint, so users is rebuilt the way
-- https://www.sqlite.org/lang_altertable.html#otheralter prescribes.
-- Foreign keys are switched off for it (only possible outside a
-- transaction, hence `no-transaction`): with them on, dropping the old
-- table would cascade into every session and refresh family. The tables
-- that reference users name it, so they reference the rebuilt table once
-- it has the name; `foreign_key_check` inside the transaction proves it.
-- Everything else runs in one transaction: a failure leaves the schema as
-- 0002 left it.
PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

CREATE TABLE users_0003 (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
) STRICT;
INSERT INTO users_0003 (id, username, password_hash, created_at)
    SELECT id, username, password_hash, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_0003 RENAME TO users;

ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
-- Every sign-in before this version was a password.
UPDATE sessions SET amr = 'pwd', auth_time = created_at;
ALTER TABLE refresh_families ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_families ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
UPDATE refresh_families SET amr = 'pwd', auth_time = created_at;

-- Fails (and so leaves 0002's schema) unless every reference still holds.
CREATE TEMP TABLE fk_violations_0003 (n INTEGER NOT NULL CHECK (n = 0));
INSERT INTO fk_violations_0003 SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE fk_violations_0003;

COMMIT;

PRAGMA foreign_keys = ON;
