-- Passkeys (WebAuthn credentials). `passkey` is webauthn-rs's serialized
-- Passkey: the credential id and public key, no secret. The counter and
-- backup flags are kept in columns as well, so that recording a use can
-- refuse, in one statement, a counter that did not move forward.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id   BLOB NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    passkey         TEXT NOT NULL,
    sign_count      INTEGER NOT NULL,
    backup_eligible INTEGER NOT NULL,
    backup_state    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
) STRICT;
CREATE INDEX passkeys_by_user ON passkeys(user_id);

-- WebAuthn ceremonies in progress (registration, sign-in): webauthn-rs's
-- serialized state, taken once by whichever node finishes the ceremony.
-- id is the SHA-256 (hex) of the challenge id handed to the client.
CREATE TABLE webauthn_ceremonies (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies(expires_at);
