//! SQLite: refresh families, revocations, signing keys.

use std::time::Duration;

use async_trait::async_trait;
#[allow(unused_imports)]
use latchkey_core::Timestamp as _;
use latchkey_core::refresh::{self, Decision, RefreshHash, TokenState};
use latchkey_core::revocation::{Revocation, Target};
use latchkey_core::{Timestamp, UserId};
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, corrupt, ts, unavailable};
use crate::tokens::{
    Family, KeyRecord, Keys, RefreshOutcome, RefreshTokens, Revocations, target_from_parts,
    target_parts,
};
use crate::{Ended, Result, RevokeAt};

fn opt_ts(row: &SqliteRow, col: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(col)
        .map(|v| v.map(Timestamp::from_unix_millis))
        .map_err(corrupt)
}

fn family_from_row(row: &SqliteRow) -> Result<Family> {
    let user: String = row.try_get("user_id").map_err(corrupt)?;
    Ok(Family {
        id: row.try_get("id").map_err(corrupt)?,
        user_id: UserId::parse(&user).map_err(corrupt)?,
        created_at: ts(row, "created_at")?,
        expires_at: ts(row, "expires_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
    })
}

const FAMILY_OF_TOKEN: &str = "SELECT f.id, f.user_id, f.created_at, f.expires_at, f.revoked_at, \
     t.spent_at, t.successor_hash, n.spent_at AS successor_spent_at \
     FROM refresh_tokens t \
     JOIN refresh_families f ON f.id = t.family_id \
     LEFT JOIN refresh_tokens n ON n.hash = t.successor_hash WHERE t.hash = ?";

#[async_trait]
impl RefreshTokens for SqliteStore {
    async fn create_family(&self, family: &Family, first: &RefreshHash) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO refresh_families (id, user_id, created_at, expires_at, revoked_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&family.id)
        .bind(family.user_id.to_string())
        .bind(family.created_at.unix_millis())
        .bind(family.expires_at.unix_millis())
        .bind(family.revoked_at.map(Timestamp::unix_millis))
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        sqlx::query("INSERT INTO refresh_tokens (hash, family_id, issued_at) VALUES (?, ?, ?)")
            .bind(first.as_bytes().as_slice())
            .bind(&family.id)
            .bind(family.created_at.unix_millis())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn refresh(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        at: RevokeAt,
        grace: Duration,
    ) -> Result<RefreshOutcome> {
        let now = at.now;
        // IMMEDIATE takes the write lock first, so two refreshes of one
        // token serialise here instead of both reading "unspent".
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable)?;
        let Some(row) = sqlx::query(FAMILY_OF_TOKEN)
            .bind(presented.as_bytes().as_slice())
            .fetch_optional(&mut *tx)
            .await
            .map_err(unavailable)?
        else {
            return Ok(RefreshOutcome::Unknown);
        };
        let family = family_from_row(&row)?;
        let spent_at = opt_ts(&row, "spent_at")?;
        let stored_successor: Option<Vec<u8>> = row.try_get("successor_hash").map_err(corrupt)?;
        let state = TokenState {
            spent_at,
            successor_spent: opt_ts(&row, "successor_spent_at")?.is_some(),
            family_expires_at: family.expires_at,
            family_revoked: family.revoked_at.is_some(),
        };
        let outcome = match refresh::decide(state, now, grace) {
            Decision::Rotate => {
                sqlx::query(
                    "UPDATE refresh_tokens SET spent_at = ?, successor_hash = ? WHERE hash = ?",
                )
                .bind(now.unix_millis())
                .bind(successor.as_bytes().as_slice())
                .bind(presented.as_bytes().as_slice())
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                sqlx::query(
                    "INSERT INTO refresh_tokens (hash, family_id, issued_at) VALUES (?, ?, ?)",
                )
                .bind(successor.as_bytes().as_slice())
                .bind(&family.id)
                .bind(now.unix_millis())
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                RefreshOutcome::Rotated {
                    family,
                    issued_at: now,
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
        tx.commit().await.map_err(unavailable)?;
        Ok(outcome)
    }

    async fn family_of(&self, token: &RefreshHash) -> Result<Option<Family>> {
        sqlx::query(FAMILY_OF_TOKEN)
            .bind(token.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?
            .as_ref()
            .map(family_from_row)
            .transpose()
    }

    async fn revoke_family(&self, id: &str, at: RevokeAt) -> Result<Ended> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let ended = revoke_in(&mut tx, id, at).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(ended)
    }

    async fn sweep_families(&self, now: Timestamp) -> Result<u64> {
        self.affected_at("DELETE FROM refresh_families WHERE expires_at <= ?1", now)
            .await
    }
}

/// Revokes family `id` inside `tx` if it is live, recording its `sid`.
async fn revoke_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: &str,
    at: RevokeAt,
) -> Result<Ended> {
    let n = sqlx::query(
        "UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
    )
    .bind(at.now.unix_millis())
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?
    .rows_affected();
    if n == 0 {
        return Ok(Ended::default());
    }
    let revocations = vec![at.entry(Target::Sid(id.to_owned()))];
    insert_revocations(tx, &revocations).await?;
    Ok(Ended {
        sessions: Vec::new(),
        families: vec![id.to_owned()],
        revocations,
    })
}

pub(super) async fn insert_revocations(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    entries: &[Revocation],
) -> Result<()> {
    for r in entries {
        let (kind, value) = target_parts(&r.target);
        sqlx::query("INSERT INTO revocations (kind, value, at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(kind)
            .bind(value)
            .bind(r.at.unix_millis())
            .bind(r.expires_at.unix_millis())
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

#[async_trait]
impl Revocations for SqliteStore {
    async fn add_revocations(&self, entries: &[Revocation]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        insert_revocations(&mut tx, entries).await?;
        tx.commit().await.map_err(unavailable)
    }

    async fn revocations_since(
        &self,
        cursor: i64,
        now: Timestamp,
    ) -> Result<(Vec<Revocation>, i64)> {
        let rows = sqlx::query(
            "SELECT seq, kind, value, at, expires_at FROM revocations \
             WHERE seq > ? AND expires_at > ? ORDER BY seq",
        )
        .bind(cursor)
        .bind(now.unix_millis())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        let mut next = cursor;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            next = next.max(row.try_get::<i64, _>("seq").map_err(corrupt)?);
            let value: String = row.try_get("value").map_err(corrupt)?;
            let kind: String = row.try_get("kind").map_err(corrupt)?;
            let target = target_from_parts(&kind, value)?;
            out.push(Revocation {
                target,
                at: ts(row, "at")?,
                expires_at: ts(row, "expires_at")?,
            });
        }
        Ok((out, next))
    }

    async fn prune_revocations(&self, now: Timestamp) -> Result<u64> {
        self.affected_at("DELETE FROM revocations WHERE expires_at <= ?1", now)
            .await
    }
}

fn key_from_row(row: &SqliteRow) -> Result<KeyRecord> {
    Ok(KeyRecord {
        kid: row.try_get("kid").map_err(corrupt)?,
        alg: row.try_get("alg").map_err(corrupt)?,
        private: row.try_get("private").map_err(corrupt)?,
        sealed: row.try_get::<i64, _>("sealed").map_err(corrupt)? != 0,
        created_at: ts(row, "created_at")?,
        retired_at: opt_ts(row, "retired_at")?,
        not_after: opt_ts(row, "not_after")?,
    })
}

#[async_trait]
impl Keys for SqliteStore {
    async fn keys(&self) -> Result<Vec<KeyRecord>> {
        sqlx::query("SELECT * FROM signing_keys ORDER BY created_at DESC, kid")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?
            .iter()
            .map(key_from_row)
            .collect()
    }

    async fn add_first_key(&self, key: &KeyRecord) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private, sealed, created_at) \
             SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS \
             (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.private.as_slice())
        .bind(i64::from(key.sealed))
        .bind(key.created_at.unix_millis())
        .execute(&self.pool)
        .await
        .map_err(unavailable)?
        .rows_affected();
        Ok(n > 0)
    }

    async fn rotate_key(
        &self,
        key: &KeyRecord,
        now: Timestamp,
        retired_not_after: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = ?, not_after = ? WHERE retired_at IS NULL",
        )
        .bind(now.unix_millis())
        .bind(retired_not_after.unix_millis())
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private, sealed, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.private.as_slice())
        .bind(i64::from(key.sealed))
        .bind(key.created_at.unix_millis())
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn seal_key(&self, kid: &str, sealed_private: &[u8]) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE signing_keys SET private = ?, sealed = 1 WHERE kid = ? AND sealed = 0",
        )
        .bind(sealed_private)
        .bind(kid)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?
        .rows_affected();
        Ok(n > 0)
    }

    async fn delete_expired_keys(&self, now: Timestamp) -> Result<u64> {
        self.affected_at(
            "DELETE FROM signing_keys WHERE not_after IS NOT NULL AND not_after <= ?1",
            now,
        )
        .await
    }
}
