-- The same tables as migrations/sqlite/0006_oidc.sql, in PostgreSQL types.

CREATE TABLE oidc_identities (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    email      TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (provider, subject)
);
CREATE INDEX oidc_identities_by_user ON oidc_identities(user_id);

CREATE TABLE oidc_logins (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    sid        TEXT,
    session    TEXT,
    family     TEXT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_logins_by_subject ON oidc_logins(provider, subject);
CREATE INDEX oidc_logins_by_sid ON oidc_logins(provider, sid);
CREATE INDEX oidc_logins_by_expiry ON oidc_logins(expires_at);

CREATE TABLE oidc_logout_tokens (
    provider   TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (provider, jti)
);
