-- The same changes as migrations/sqlite/0011_family_devices.sql.
ALTER TABLE refresh_families ADD COLUMN kind TEXT NOT NULL DEFAULT 'tokens';
ALTER TABLE refresh_families ADD COLUMN user_agent TEXT;
ALTER TABLE refresh_families ADD COLUMN ip TEXT;
ALTER TABLE refresh_families ADD COLUMN last_used_at BIGINT;
