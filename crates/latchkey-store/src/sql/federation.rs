//! Linked provider identities, provider sign-ins and logout `jti`s.

use async_trait::async_trait;
use latchkey_core::{PasswordHash, Timestamp, UserId};

use super::{Columns, Dialect, SqlStore, commit, corrupt, q};
use crate::federation::{FederatedLogin, Federation, LinkedIdentity};
use crate::{Result, User};

const LINKED: &str = "identity already linked";

fn identity_from_row(row: &impl Columns) -> Result<LinkedIdentity> {
    Ok(LinkedIdentity {
        id: row.text("id")?,
        user_id: UserId::parse(&row.text("user_id")?).map_err(corrupt)?,
        provider: row.text("provider")?,
        subject: row.text("subject")?,
        email: row.opt_text("email")?,
        created_at: row.at("created_at")?,
    })
}

fn login_from_row(row: &impl Columns) -> Result<FederatedLogin> {
    Ok(FederatedLogin {
        provider: row.text("provider")?,
        subject: row.text("subject")?,
        sid: row.opt_text("sid")?,
        session: row.opt_text("session")?,
        family: row.opt_text("family")?,
        expires_at: row.at("expires_at")?,
    })
}

const INSERT_IDENTITY: &str = "INSERT INTO oidc_identities \
     (id, user_id, provider, subject, email, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

#[async_trait]
impl<D: Dialect> Federation for SqlStore<D> {
    async fn link_identity(&self, i: &LinkedIdentity) -> Result<()> {
        q(INSERT_IDENTITY)
            .bind(i.id.as_str())
            .bind(&i.user_id.to_string())
            .bind(i.provider.as_str())
            .bind(i.subject.as_str())
            .bind(i.email.as_deref())
            .bind(i.created_at)
            .unique(LINKED)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn create_federated_user(&self, user: &User, i: &LinkedIdentity) -> Result<()> {
        let mut tx = self.begin().await?;
        q("INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&user.id.to_string())
            .bind(user.username.as_str())
            .bind(user.password_hash.as_ref().map(PasswordHash::as_str))
            .bind(user.created_at)
            .unique("username taken")
            .execute(&mut tx)
            .await?;
        q(INSERT_IDENTITY)
            .bind(i.id.as_str())
            .bind(&i.user_id.to_string())
            .bind(i.provider.as_str())
            .bind(i.subject.as_str())
            .bind(i.email.as_deref())
            .bind(i.created_at)
            .unique(LINKED)
            .execute(&mut tx)
            .await?;
        commit(tx).await
    }

    async fn identity_by_subject(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<LinkedIdentity>> {
        q("SELECT * FROM oidc_identities WHERE provider = $1 AND subject = $2")
            .bind(provider)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_from_row)
            .transpose()
    }

    async fn identities_of(&self, user: UserId) -> Result<Vec<LinkedIdentity>> {
        q("SELECT * FROM oidc_identities WHERE user_id = $1 ORDER BY created_at, id")
            .bind(&user.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(identity_from_row)
            .collect()
    }

    async fn unlink_identity(&self, id: &str, owner: UserId) -> Result<bool> {
        let n = q("DELETE FROM oidc_identities WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(&owner.to_string())
            .execute(&self.pool)
            .await?;
        Ok(n == 1)
    }

    async fn record_federated_login(&self, l: &FederatedLogin) -> Result<()> {
        q(
            "INSERT INTO oidc_logins (provider, subject, sid, session, family, expires_at) \
           VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(l.provider.as_str())
        .bind(l.subject.as_str())
        .bind(l.sid.as_deref())
        .bind(l.session.as_deref())
        .bind(l.family.as_deref())
        .bind(l.expires_at)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    async fn federated_logins(
        &self,
        provider: &str,
        subject: Option<&str>,
        sid: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<FederatedLogin>> {
        q("SELECT * FROM oidc_logins WHERE provider = $1 \
           AND (CAST($2 AS TEXT) IS NULL OR subject = $2) \
           AND (CAST($3 AS TEXT) IS NULL OR sid = $3) \
           AND expires_at > $4")
        .bind(provider)
        .bind(subject)
        .bind(sid)
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(login_from_row)
        .collect()
    }

    async fn use_logout_token(
        &self,
        provider: &str,
        jti: &str,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let n = q(
            "INSERT INTO oidc_logout_tokens (provider, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (provider, jti) DO NOTHING",
        )
        .bind(provider)
        .bind(jti)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(n == 1)
    }

    async fn sweep_federation(&self, now: Timestamp) -> Result<u64> {
        let logins = q("DELETE FROM oidc_logins WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let tokens = q("DELETE FROM oidc_logout_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(logins + tokens)
    }
}
