-- Accounts without a password (password_hash NULL: a passkey or a provider
-- is their way in), and the assurance of each sign-in: `amr` (RFC 8176
-- values separated by single spaces) and `auth_time` (milliseconds) on
-- sessions and refresh families. As migrations/sqlite/0003_assurance.sql.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;

ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
-- Every sign-in before this version was a password.
UPDATE sessions SET amr = 'pwd', auth_time = created_at;
ALTER TABLE refresh_families ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_families ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
UPDATE refresh_families SET amr = 'pwd', auth_time = created_at;
