//! Users, server secrets and login-failure windows.

use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::throttle::FailureWindow;
use latchkey_core::{PasswordHash, Timestamp, UserId, Username};

use super::{Columns, Dialect, SqlStore, commit, corrupt, q};
use crate::{
    Ended, Keep, LoginFailures, Result, RevokeAt, Secrets, User, Users, millis_to_duration,
};

pub(super) fn user_from_row(row: &impl Columns) -> Result<User> {
    Ok(User {
        id: UserId::parse(&row.text("id")?).map_err(corrupt)?,
        username: Username::parse(&row.text("username")?).map_err(corrupt)?,
        password_hash: row
            .opt_text("password_hash")?
            .map(PasswordHash::from_stored),
        created_at: row.at("created_at")?,
        disabled_at: row.opt_at("disabled_at")?,
    })
}

const SET_PASSWORD: &str = "UPDATE users SET password_hash = $1 WHERE id = $2";

#[async_trait]
impl<D: Dialect> Users for SqlStore<D> {
    async fn create_user(&self, user: &User) -> Result<()> {
        q(
            "INSERT INTO users (id, username, password_hash, created_at, disabled_at) \
           VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&user.id.to_string())
        .bind(user.username.as_str())
        .bind(user.password_hash.as_ref().map(PasswordHash::as_str))
        .bind(user.created_at)
        .bind(user.disabled_at)
        .unique("username taken")
        .execute(&self.pool)
        .await
        .map(drop)
    }

    async fn user_by_name(&self, username: &Username) -> Result<Option<User>> {
        q("SELECT * FROM users WHERE username = $1")
            .bind(username.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        q("SELECT * FROM users WHERE id = $1")
            .bind(&id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn replace_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep: Keep<'_>,
        at: RevokeAt<'_>,
    ) -> Result<Ended> {
        let mut tx = self.begin().await?;
        q(SET_PASSWORD)
            .bind(hash.as_str())
            .bind(&id.to_string())
            .execute(&mut tx)
            .await?;
        let ended = super::sessions::end_in(&mut tx, id, keep, at, false).await?;
        commit(tx).await?;
        Ok(ended)
    }

    async fn rehash_password(&self, id: UserId, hash: &PasswordHash) -> Result<()> {
        q(SET_PASSWORD)
            .bind(hash.as_str())
            .bind(&id.to_string())
            .execute(&self.pool)
            .await
            .map(drop)
    }
}

#[async_trait]
impl<D: Dialect> Secrets for SqlStore<D> {
    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
        // A concurrent first insert makes this one wait for its commit (or
        // the write lock) and then do nothing, so the SELECT sees the
        // winner's value.
        q("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(candidate)
            .execute(&self.pool)
            .await?;
        q("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?
            .bytes("value")
    }
}

fn window_from_row(row: &impl Columns) -> Result<FailureWindow> {
    Ok(FailureWindow {
        count: u32::try_from(row.int("count")?).unwrap_or(u32::MAX),
        started_at: row.at("started_at")?,
    })
}

#[async_trait]
impl<D: Dialect> LoginFailures for SqlStore<D> {
    async fn failures(&self, key: &str) -> Result<Option<FailureWindow>> {
        q("SELECT count, started_at FROM login_failures WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(window_from_row)
            .transpose()
    }

    async fn record_failure(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<FailureWindow> {
        // One statement, so concurrent failures are all counted (a racing
        // insert waits and then takes the UPDATE branch). In SET, every
        // `login_failures.` column is the old value.
        let row = q(
            "INSERT INTO login_failures (key, count, started_at) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN login_failures.started_at + $3 > $2 \
                       THEN login_failures.count + 1 ELSE 1 END, \
               started_at = CASE WHEN login_failures.started_at + $3 > $2 \
                            THEN login_failures.started_at ELSE $2 END \
             RETURNING count, started_at",
        )
        .bind(key)
        .bind(now)
        .bind(millis_to_duration(window))
        .fetch_one(&self.pool)
        .await?;
        window_from_row(&row)
    }

    async fn clear_failures(&self, key: &str) -> Result<()> {
        q("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn forgive_failure(&self, key: &str) -> Result<()> {
        q("UPDATE login_failures SET count = count - 1 WHERE key = $1 AND count > 0")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn sweep_failures(&self, cutoff: Timestamp) -> Result<u64> {
        q("DELETE FROM login_failures WHERE started_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await
    }
}
