//! TOTP factors, recovery codes and pending logins.

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use super::query::On;
use super::{Columns, Dialect, SqlStore, Tx, commit, corrupt, q};
use crate::Result;
use crate::mfa::{
    Finished, PendingLogin, PendingLogins, Proof, RecoveryState, SecondFactors, TotpFactor,
};

fn factor_from_row(row: &impl Columns) -> Result<TotpFactor> {
    Ok(TotpFactor {
        user_id: UserId::parse(&row.text("user_id")?).map_err(corrupt)?,
        secret: row.bytes("secret")?,
        sealed: row.flag("sealed")?,
        created_at: row.at("created_at")?,
        confirmed_at: row.opt_at("confirmed_at")?,
        last_step: row.opt_int("last_step")?,
    })
}

fn pending_from_row(row: &impl Columns) -> Result<PendingLogin> {
    Ok(PendingLogin {
        user_id: UserId::parse(&row.text("user_id")?).map_err(corrupt)?,
        flavour: row.text("flavour")?,
        remember: row.flag("remember")?,
        client: row.bytes("client")?,
        passed: row.text("passed")?,
        attempts: u32::try_from(row.int("attempts")?).map_err(corrupt)?,
        created_at: row.at("created_at")?,
        expires_at: row.at("expires_at")?,
    })
}

/// Accepts `proof` for `user` on `on` (one conditional `UPDATE`).
async fn accept<'e, D: Dialect>(
    on: impl Into<On<'e, D>>,
    user: &str,
    proof: Proof<'_>,
    now: Timestamp,
) -> Result<bool> {
    let n = match proof {
        Proof::TotpStep(step) => {
            q("UPDATE totp_factors SET last_step = $2 WHERE user_id = $1 \
               AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)")
            .bind(user)
            .bind(step)
            .execute(on)
            .await?
        }
        Proof::RecoveryCode(hash) => {
            q("UPDATE recovery_codes SET used_at = $3 \
               WHERE user_id = $1 AND hash = $2 AND used_at IS NULL")
            .bind(user)
            .bind(hash.as_slice())
            .bind(now)
            .execute(on)
            .await?
        }
        Proof::Passkey => 1,
    };
    Ok(n > 0)
}

/// Voids the user's recovery codes and stores `codes`, inside `tx`.
async fn replace_codes<D: Dialect>(
    tx: &mut Tx<D>,
    user: &str,
    codes: &[[u8; 32]],
    now: Timestamp,
) -> Result<()> {
    q("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    for code in codes {
        q("INSERT INTO recovery_codes (user_id, hash, created_at) VALUES ($1, $2, $3)")
            .bind(user)
            .bind(code.as_slice())
            .bind(now)
            .unique("recovery code repeated")
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl<D: Dialect> SecondFactors for SqlStore<D> {
    async fn begin_totp(&self, f: &TotpFactor) -> Result<bool> {
        let n = q(
            "INSERT INTO totp_factors (user_id, secret, sealed, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, \
             sealed = excluded.sealed, created_at = excluded.created_at, last_step = NULL \
             WHERE totp_factors.confirmed_at IS NULL",
        )
        .bind(&f.user_id.to_string())
        .bind(f.secret.as_slice())
        .bind(f.sealed)
        .bind(f.created_at)
        .execute(&self.pool)
        .await?;
        Ok(n > 0)
    }

    async fn totp_factor(&self, user: UserId) -> Result<Option<TotpFactor>> {
        q("SELECT * FROM totp_factors WHERE user_id = $1")
            .bind(&user.to_string())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(factor_from_row)
            .transpose()
    }

    async fn confirm_totp(
        &self,
        user: UserId,
        step: i64,
        codes: &[[u8; 32]],
        now: Timestamp,
    ) -> Result<bool> {
        let user = user.to_string();
        let mut tx = self.begin().await?;
        let n = q("UPDATE totp_factors SET confirmed_at = $2, last_step = $3 \
                   WHERE user_id = $1 AND confirmed_at IS NULL")
        .bind(&user)
        .bind(now)
        .bind(step)
        .execute(&mut tx)
        .await?;
        if n == 0 {
            return Ok(false);
        }
        replace_codes(&mut tx, &user, codes, now).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn accept_proof(&self, user: UserId, proof: Proof<'_>, now: Timestamp) -> Result<bool> {
        accept::<D>(&self.pool, &user.to_string(), proof, now).await
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: &[[u8; 32]],
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        replace_codes(&mut tx, &user.to_string(), codes, now).await?;
        commit(tx).await
    }

    async fn recovery_state(&self, user: UserId) -> Result<RecoveryState> {
        let row = q("SELECT COUNT(*) AS remaining FROM recovery_codes \
                     WHERE user_id = $1 AND used_at IS NULL")
        .bind(&user.to_string())
        .fetch_one(&self.pool)
        .await?;
        let remaining = u32::try_from(row.int("remaining")?).map_err(corrupt)?;
        let last = q("SELECT MAX(used_at) AS last_used_at FROM recovery_codes WHERE user_id = $1")
            .bind(&user.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(RecoveryState {
            remaining,
            last_used_at: last.opt_at("last_used_at")?,
        })
    }

    async fn remove_second_factors(&self, user: UserId) -> Result<bool> {
        let user = user.to_string();
        let mut tx = self.begin().await?;
        let n = q("DELETE FROM totp_factors WHERE user_id = $1")
            .bind(&user)
            .execute(&mut tx)
            .await?;
        for sql in [
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM pending_logins WHERE user_id = $1",
        ] {
            q(sql).bind(&user).execute(&mut tx).await?;
        }
        commit(tx).await?;
        Ok(n > 0)
    }
}

#[async_trait]
impl<D: Dialect> PendingLogins for SqlStore<D> {
    async fn create_pending_login(&self, token: &[u8; 32], p: &PendingLogin) -> Result<()> {
        q(
            "INSERT INTO pending_logins (token_hash, user_id, flavour, remember, client, passed, \
           attempts, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(token.as_slice())
        .bind(&p.user_id.to_string())
        .bind(p.flavour.as_str())
        .bind(p.remember)
        .bind(p.client.as_slice())
        .bind(p.passed.as_str())
        .bind(i64::from(p.attempts))
        .bind(p.created_at)
        .bind(p.expires_at)
        .unique("pending login exists")
        .execute(&self.pool)
        .await
        .map(drop)
    }

    async fn pending_login(
        &self,
        token: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<PendingLogin>> {
        q("SELECT * FROM pending_logins WHERE token_hash = $1 AND expires_at > $2")
            .bind(token.as_slice())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(pending_from_row)
            .transpose()
    }

    async fn count_pending_failure(&self, token: &[u8; 32], max: u32) -> Result<Option<u32>> {
        let mut tx = self.begin().await?;
        let Some(row) = q("UPDATE pending_logins SET attempts = attempts + 1 \
                           WHERE token_hash = $1 RETURNING attempts")
        .bind(token.as_slice())
        .fetch_optional(&mut tx)
        .await?
        else {
            return Ok(None);
        };
        let attempts = u32::try_from(row.int("attempts")?).map_err(corrupt)?;
        if attempts >= max {
            q("DELETE FROM pending_logins WHERE token_hash = $1")
                .bind(token.as_slice())
                .execute(&mut tx)
                .await?;
        }
        commit(tx).await?;
        Ok(Some(attempts))
    }

    async fn finish_pending_login(
        &self,
        token: &[u8; 32],
        proof: Proof<'_>,
        now: Timestamp,
    ) -> Result<Finished> {
        let mut tx = self.begin().await?;
        let Some(row) = q(
            "DELETE FROM pending_logins WHERE token_hash = $1 AND expires_at > $2 \
                           RETURNING *",
        )
        .bind(token.as_slice())
        .bind(now)
        .fetch_optional(&mut tx)
        .await?
        else {
            return Ok(Finished::Gone);
        };
        let login = pending_from_row(&row)?;
        // Dropping the transaction rolls the DELETE back: a refused proof
        // leaves the pending login as it was.
        if !accept::<D>(&mut tx, &login.user_id.to_string(), proof, now).await? {
            return Ok(Finished::Refused);
        }
        commit(tx).await?;
        Ok(Finished::Done(login))
    }

    async fn sweep_pending_logins(&self, now: Timestamp) -> Result<u64> {
        q("DELETE FROM pending_logins WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
    }
}
