//! Refresh families and rotation.

use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::refresh::{self, Decision, RefreshHash, TokenState};
use latchkey_core::revocation::Target;
use latchkey_core::{Assurance, Timestamp, UserId};

use super::assurance::{FAMILY_READ, FAMILY_WRITE, assurance_from_row, raise};
use super::{Columns, Dialect, SqlStore, Tx, commit, corrupt, fail, family_of_token, q};
use crate::tokens::{Family, RefreshOutcome, RefreshTokens};
use crate::{Ended, Result, RevokeAt};

fn family_from_row(row: &impl Columns) -> Result<Family> {
    Ok(Family {
        id: row.text("id")?,
        user_id: UserId::parse(&row.text("user_id")?).map_err(corrupt)?,
        created_at: row.at("created_at")?,
        expires_at: row.at("expires_at")?,
        revoked_at: row.opt_at("revoked_at")?,
        assurance: assurance_from_row(row)?,
        kind: row.text("kind")?,
        user_agent: row.opt_text("user_agent")?,
        ip: row.opt_text("ip")?,
        last_used_at: row.opt_at("last_used_at")?.unwrap_or(row.at("created_at")?),
    })
}

const INSERT_TOKEN: &str =
    "INSERT INTO refresh_tokens (hash, family_id, issued_at) VALUES ($1, $2, $3)";

#[async_trait]
impl<D: Dialect> RefreshTokens for SqlStore<D> {
    async fn create_family(&self, family: &Family, first: &RefreshHash) -> Result<()> {
        let mut tx = self.begin().await?;
        q(
            "INSERT INTO refresh_families (id, user_id, created_at, expires_at, revoked_at, \
             amr, auth_time, kind, user_agent, ip, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&family.id)
        .bind(&family.user_id.to_string())
        .bind(family.created_at)
        .bind(family.expires_at)
        .bind(family.revoked_at)
        .bind(family.assurance.amr_text().as_str())
        .bind(family.assurance.auth_time)
        .bind(family.kind.as_str())
        .bind(family.user_agent.as_deref())
        .bind(family.ip.as_deref())
        .bind(family.last_used_at)
        .execute(&mut tx)
        .await?;
        q(INSERT_TOKEN)
            .bind(first.as_bytes().as_slice())
            .bind(&family.id)
            .bind(family.created_at)
            .execute(&mut tx)
            .await?;
        commit(tx).await
    }

    async fn refresh(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        at: RevokeAt<'_>,
        grace: Duration,
    ) -> Result<RefreshOutcome> {
        // The dialect's start and locking read serialise two refreshes of
        // one token (on any connections or nodes): the second reads the row
        // as the first left it ("spent") instead of both reading "unspent".
        let mut tx = self
            .pool
            .begin_with(D::BEGIN_ROTATION)
            .await
            .map_err(fail::<D>)?;
        let Some(row) = q(D::TOKEN_FOR_ROTATION)
            .bind(presented.as_bytes().as_slice())
            .fetch_optional(&mut tx)
            .await?
        else {
            return Ok(RefreshOutcome::Unknown);
        };
        let family = family_from_row(&row)?;
        let stored_successor = row.opt_bytes("successor_hash")?;
        let state = TokenState {
            spent_at: row.opt_at("spent_at")?,
            successor_spent: row.opt_at("successor_spent_at")?.is_some(),
            family_expires_at: family.expires_at,
            family_revoked: family.revoked_at.is_some(),
        };
        let outcome = match refresh::decide(state, at.now, grace) {
            Decision::Rotate => {
                rotate_in(&mut tx, presented, successor, &family.id, at.now).await?;
                RefreshOutcome::Rotated {
                    family,
                    issued_at: at.now,
                }
            }
            Decision::Grace { issued_at }
                if stored_successor.as_deref() == Some(successor.as_bytes().as_slice()) =>
            {
                RefreshOutcome::Grace { family, issued_at }
            }
            Decision::Grace { .. } | Decision::Reuse => {
                let ended = revoke_in(&mut tx, &family.id, at).await?;
                RefreshOutcome::Reused {
                    family,
                    revocations: ended.revocations,
                }
            }
            Decision::Expired => RefreshOutcome::Expired,
            Decision::Revoked => RefreshOutcome::Revoked,
        };
        commit(tx).await?;
        Ok(outcome)
    }

    async fn family_of(&self, token: &RefreshHash) -> Result<Option<Family>> {
        q(family_of_token!())
            .bind(token.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(family_from_row)
            .transpose()
    }

    async fn reauthenticate_family(
        &self,
        id: &str,
        added: &[String],
        at: Timestamp,
    ) -> Result<Option<Assurance>> {
        raise(
            &self.pool,
            (FAMILY_READ, FAMILY_WRITE),
            id.into(),
            added,
            at,
        )
        .await
    }

    async fn revoke_family(&self, id: &str, at: RevokeAt<'_>) -> Result<Ended> {
        let mut tx = self.begin().await?;
        let ended = revoke_in(&mut tx, id, at).await?;
        commit(tx).await?;
        Ok(ended)
    }

    async fn sweep_families(&self, now: Timestamp) -> Result<u64> {
        q("DELETE FROM refresh_families WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
    }

    async fn list_families(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Family>> {
        let user = user.map(|u| u.to_string());
        q("SELECT * FROM refresh_families \
           WHERE ($1 IS NULL OR user_id = $1) AND revoked_at IS NULL AND expires_at > $2 \
           ORDER BY COALESCE(last_used_at, created_at) DESC, id")
        .bind(user.as_deref())
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(family_from_row)
        .collect()
    }
}

/// Spends `presented` and stores `successor` as the family's live token.
async fn rotate_in<D: Dialect>(
    tx: &mut Tx<D>,
    presented: &RefreshHash,
    successor: &RefreshHash,
    family: &str,
    now: Timestamp,
) -> Result<()> {
    q("UPDATE refresh_tokens SET spent_at = $1, successor_hash = $2 WHERE hash = $3")
        .bind(now)
        .bind(successor.as_bytes().as_slice())
        .bind(presented.as_bytes().as_slice())
        .execute(&mut *tx)
        .await?;
    q(INSERT_TOKEN)
        .bind(successor.as_bytes().as_slice())
        .bind(family)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    q("UPDATE refresh_families SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(family)
        .execute(&mut *tx)
        .await
        .map(drop)
}

/// Revokes family `id` inside `tx` if it is live, recording its `sid`.
async fn revoke_in<D: Dialect>(tx: &mut Tx<D>, id: &str, at: RevokeAt<'_>) -> Result<Ended> {
    let n = q("UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(at.now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if n == 0 {
        return Ok(Ended::default());
    }
    let revocations = vec![at.entry(Target::Sid(id.to_owned()))];
    super::tokens::insert_revocations(tx, &revocations).await?;
    let ended = Ended {
        sessions: Vec::new(),
        families: vec![id.to_owned()],
        revocations,
    };
    super::audit::record_change(tx, at, &ended).await?;
    Ok(ended)
}
