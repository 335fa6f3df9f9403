-- Bearer and hybrid logins are listed beside sessions: what kind of
-- login started a family, from which device, and when it was last used
-- (its last rotation). Families from before have no device and count as
-- last used when they were made.
ALTER TABLE refresh_families ADD COLUMN kind TEXT NOT NULL DEFAULT 'tokens';
ALTER TABLE refresh_families ADD COLUMN user_agent TEXT;
ALTER TABLE refresh_families ADD COLUMN ip TEXT;
ALTER TABLE refresh_families ADD COLUMN last_used_at INTEGER;
