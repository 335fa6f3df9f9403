//! Addresses and the tokens and codes sent to them.

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use super::accounts::user_from_row;
use super::{Columns, Dialect, SqlStore, commit, corrupt, q};
use crate::email::{Address, Addresses, CodeTry, EmailToken, EmailTokens, TokenKind, address_key};
use crate::{Result, User};

const SET_ADDRESS: &str =
    "UPDATE users SET email = $2, email_key = $3, email_verified = $4 WHERE id = $1";

fn address_from_row(row: &impl Columns) -> Result<Option<Address>> {
    Ok(match row.opt_text("email")? {
        Some(email) => Some(Address {
            email,
            verified: row.flag("email_verified")?,
        }),
        None => None,
    })
}

fn kind_of(s: &str) -> Result<TokenKind> {
    [TokenKind::Verify, TokenKind::Reset, TokenKind::Code]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| corrupt(format!("unknown e-mail token kind {s:?}")))
}

fn token_from_row(row: &impl Columns) -> Result<EmailToken> {
    Ok(EmailToken {
        kind: kind_of(&row.text("kind")?)?,
        user_id: UserId::parse(&row.text("user_id")?).map_err(corrupt)?,
        email: row.text("email")?,
        attempts: u32::try_from(row.int("attempts")?).map_err(corrupt)?,
        created_at: row.at("created_at")?,
        expires_at: row.at("expires_at")?,
    })
}

#[async_trait]
impl<D: Dialect> Addresses for SqlStore<D> {
    async fn create_user_with_address(&self, user: &User, address: &Address) -> Result<()> {
        let id = user.id.to_string();
        let mut tx = self.begin().await?;
        q("INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(user.username.as_str())
            .bind(
                user.password_hash
                    .as_ref()
                    .map(latchkey_core::PasswordHash::as_str),
            )
            .bind(user.created_at)
            .unique("username taken")
            .execute(&mut tx)
            .await?;
        q(SET_ADDRESS)
            .bind(&id)
            .bind(address.email.as_str())
            .bind(&address_key(&address.email))
            .bind(address.verified)
            .unique("email taken")
            .execute(&mut tx)
            .await?;
        commit(tx).await
    }

    async fn set_address(&self, user: UserId, address: Option<&Address>) -> Result<bool> {
        let key = address.map(|a| address_key(&a.email));
        let n = q(SET_ADDRESS)
            .bind(&user.to_string())
            .bind(address.map(|a| a.email.as_str()))
            .bind(key.as_deref())
            .bind(address.is_some_and(|a| a.verified))
            .unique("email taken")
            .execute(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn address_of(&self, user: UserId) -> Result<Option<Address>> {
        let row = q("SELECT email, email_verified FROM users WHERE id = $1")
            .bind(&user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => address_from_row(&row),
            None => Ok(None),
        }
    }

    async fn user_by_address(&self, email: &str) -> Result<Option<(User, Address)>> {
        let Some(row) = q("SELECT * FROM users WHERE email_key = $1")
            .bind(&address_key(email))
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        Ok(address_from_row(&row)?.map(|a| (user, a)))
    }

    async fn mark_address_verified(&self, user: UserId, email: &str) -> Result<bool> {
        let n = q("UPDATE users SET email_verified = $3 WHERE id = $1 AND email = $2")
            .bind(&user.to_string())
            .bind(email)
            .bind(true)
            .execute(&self.pool)
            .await?;
        Ok(n > 0)
    }
}

#[async_trait]
impl<D: Dialect> EmailTokens for SqlStore<D> {
    async fn put_email_token(&self, hash: &[u8; 32], t: &EmailToken) -> Result<()> {
        let user = t.user_id.to_string();
        let mut tx = self.begin().await?;
        q("DELETE FROM email_tokens WHERE user_id = $1 AND kind = $2")
            .bind(&user)
            .bind(t.kind.as_str())
            .execute(&mut tx)
            .await?;
        q(
            "INSERT INTO email_tokens (hash, kind, user_id, email, attempts, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(hash.as_slice())
        .bind(t.kind.as_str())
        .bind(&user)
        .bind(t.email.as_str())
        .bind(i64::from(t.attempts))
        .bind(t.created_at)
        .bind(t.expires_at)
        .unique("e-mail token exists")
        .execute(&mut tx)
        .await?;
        commit(tx).await
    }

    async fn take_email_token(
        &self,
        hash: &[u8; 32],
        kind: TokenKind,
        now: Timestamp,
    ) -> Result<Option<EmailToken>> {
        q(
            "DELETE FROM email_tokens WHERE hash = $1 AND kind = $2 AND expires_at > $3 \
           RETURNING *",
        )
        .bind(hash.as_slice())
        .bind(kind.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
    }

    async fn try_email_code(
        &self,
        user: UserId,
        hash: &[u8; 32],
        now: Timestamp,
        max: u32,
    ) -> Result<CodeTry> {
        let user = user.to_string();
        let taken = q(
            "DELETE FROM email_tokens WHERE hash = $1 AND kind = 'code' \
                       AND user_id = $2 AND expires_at > $3 RETURNING *",
        )
        .bind(hash.as_slice())
        .bind(&user)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = taken {
            return Ok(CodeTry::Accepted(token_from_row(&row)?));
        }
        let mut tx = self.begin().await?;
        let Some(row) = q("UPDATE email_tokens SET attempts = attempts + 1 \
                           WHERE kind = 'code' AND user_id = $1 AND expires_at > $2 \
                           RETURNING attempts")
        .bind(&user)
        .bind(now)
        .fetch_optional(&mut tx)
        .await?
        else {
            return Ok(CodeTry::Gone);
        };
        let attempts = u32::try_from(row.int("attempts")?).map_err(corrupt)?;
        if attempts >= max {
            q("DELETE FROM email_tokens WHERE kind = 'code' AND user_id = $1")
                .bind(&user)
                .execute(&mut tx)
                .await?;
        }
        commit(tx).await?;
        Ok(CodeTry::Wrong(attempts))
    }

    async fn sweep_email_tokens(&self, now: Timestamp) -> Result<u64> {
        q("DELETE FROM email_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
    }
}
