-- Sign in with an OpenID Connect provider. A pending authorisation is a
-- row of webauthn_ceremonies (kind 'oidc'): taken once, before it expires.

-- Provider identities linked to users; one user per provider identity.
CREATE TABLE oidc_identities (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    email      TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (provider, subject)
) STRICT;
CREATE INDEX oidc_identities_by_user ON oidc_identities(user_id);

-- The session or refresh family each provider sign-in started, with the
-- provider's session id: what a back-channel logout ends.
CREATE TABLE oidc_logins (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    sid        TEXT,
    session    TEXT,
    family     TEXT,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX oidc_logins_by_subject ON oidc_logins(provider, subject);
CREATE INDEX oidc_logins_by_sid ON oidc_logins(provider, sid);
CREATE INDEX oidc_logins_by_expiry ON oidc_logins(expires_at);

-- Logout tokens already used (jti), until they expire.
CREATE TABLE oidc_logout_tokens (
    provider   TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, jti)
) STRICT;
