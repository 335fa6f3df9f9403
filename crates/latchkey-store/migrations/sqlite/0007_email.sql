-- E-mail: an optional address per user, single-use tokens and codes sent
-- by mail, and the outbox the background sender drains.

-- email is kept as entered; email_key is the address with its domain in
-- lower case (the local part is kept: it may be case-sensitive), unique.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_key TEXT;
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_by_email_key ON users(email_key);

-- Verification links, reset links and sign-in codes, only as SHA-256
-- hashes. kind: verify, reset, code. email: the address it was sent to.
-- attempts: wrong codes so far (sign-in codes only).
CREATE TABLE email_tokens (
    hash       BLOB PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX email_tokens_by_user ON email_tokens(user_id, kind);
CREATE INDEX email_tokens_by_expiry ON email_tokens(expires_at);

-- Messages to send. state: pending, sent, failed. With a master key, the
-- subject and bodies are sealed (sealed = 1: AES-256-GCM, base64, bound
-- to the id), as they hold single-use links and codes. A sender claims a due
-- pending row by moving next_attempt_at past its send (a lease), so two
-- nodes never send one row at once; bodies are emptied once the row is
-- sent or failed (they hold single-use links).
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    sealed          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    state           TEXT NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
