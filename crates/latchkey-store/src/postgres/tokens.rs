//! PostgreSQL: refresh families, revocations, signing keys.

use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::refresh::{self, Decision, RefreshHash, TokenState};
use latchkey_core::revocation::{Revocation, Target};
use latchkey_core::{Timestamp, UserId};
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use super::{PgStore, Tx, corrupt, db_err, ts};
use crate::tokens::{
    Family, KeyRecord, Keys, RefreshOutcome, RefreshTokens, Revocations, target_from_parts,
    target_parts,
};
use crate::{Ended, Result, RevokeAt};

fn opt_ts(row: &PgRow, col: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(col)
        .map(|v| v.map(Timestamp::from_unix_millis))
        .map_err(corrupt)
}

fn family_from_row(row: &PgRow) -> Result<Family> {
    let user: String = row.try_get("user_id").map_err(corrupt)?;
    Ok(Family {
        id: row.try_get("id").map_err(corrupt)?,
        user_id: UserId::parse(&user).map_err(corrupt)?,
        created_at: ts(row, "created_at")?,
        expires_at: ts(row, "expires_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
    })
}

/// A token and its family, as a literal so that queries stay `&'static str`.
macro_rules! family_of_token {
    () => {
        "SELECT f.id, f.user_id, f.created_at, f.expires_at, f.revoked_at, \
         t.spent_at, t.successor_hash, n.spent_at AS successor_spent_at \
         FROM refresh_tokens t \
         JOIN refresh_families f ON f.id = t.family_id \
         LEFT JOIN refresh_tokens n ON n.hash = t.successor_hash WHERE t.hash = $1"
    };
}

#[async_trait]
impl RefreshTokens for PgStore {
    async fn create_family(&self, family: &Family, first: &RefreshHash) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO refresh_families (id, user_id, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&family.id)
        .bind(family.user_id.to_string())
        .bind(family.created_at.unix_millis())
        .bind(family.expires_at.unix_millis())
        .bind(family.revoked_at.map(Timestamp::unix_millis))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("INSERT INTO refresh_tokens (hash, family_id, issued_at) VALUES ($1, $2, $3)")
            .bind(first.as_bytes().as_slice())
            .bind(&family.id)
            .bind(family.created_at.unix_millis())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn refresh(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        at: RevokeAt,
        grace: Duration,
    ) -> Result<RefreshOutcome> {
        let now = at.now;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // FOR UPDATE locks the token's row and its family's row until
        // commit, so two refreshes of one token (on any connections or
        // nodes) serialise here: the second waits, then reads the row as
        // the first left it ("spent") instead of both reading "unspent".
        // Holding the family row also orders rotation against a concurrent
        // revocation of the family. The successor's row (outer-joined, for
        // "has the successor been used?") is read, not locked: a rotation
        // of the successor racing this read is ordered after it, which is
        // a serial order too.
        let Some(row) = sqlx::query(concat!(family_of_token!(), " FOR UPDATE OF t, f"))
            .bind(presented.as_bytes().as_slice())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
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
                rotate_in(&mut tx, presented, successor, &family.id, now).await?;
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
        tx.commit().await.map_err(db_err)?;
        Ok(outcome)
    }

    async fn family_of(&self, token: &RefreshHash) -> Result<Option<Family>> {
        sqlx::query(family_of_token!())
            .bind(token.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(family_from_row)
            .transpose()
    }

    async fn revoke_family(&self, id: &str, at: RevokeAt) -> Result<Ended> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let ended = revoke_in(&mut tx, id, at).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ended)
    }

    async fn sweep_families(&self, now: Timestamp) -> Result<u64> {
        self.affected_at("DELETE FROM refresh_families WHERE expires_at <= $1", now)
            .await
    }
}

/// Spends `presented` and stores `successor` as the family's live token.
async fn rotate_in(
    tx: &mut Tx<'_>,
    presented: &RefreshHash,
    successor: &RefreshHash,
    family: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE refresh_tokens SET spent_at = $1, successor_hash = $2 WHERE hash = $3")
        .bind(now.unix_millis())
        .bind(successor.as_bytes().as_slice())
        .bind(presented.as_bytes().as_slice())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    sqlx::query("INSERT INTO refresh_tokens (hash, family_id, issued_at) VALUES ($1, $2, $3)")
        .bind(successor.as_bytes().as_slice())
        .bind(family)
        .bind(now.unix_millis())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Revokes family `id` inside `tx` if it is live, recording its `sid`.
async fn revoke_in(tx: &mut Tx<'_>, id: &str, at: RevokeAt) -> Result<Ended> {
    let n = sqlx::query(
        "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(at.now.unix_millis())
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?
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

/// Appends `entries` to the revocation log inside `tx`.
///
/// With concurrent writers an identity column alone is not a safe cursor:
/// `seq` is drawn at INSERT but becomes visible at COMMIT, so transaction A
/// could draw 7, B draw 8 and commit, a reader see 8 and move its cursor
/// past 7, and then A commit — entry 7 would never reach that reader's
/// denylist. So every writer first takes a lock on the table that
/// conflicts with itself (SHARE ROW EXCLUSIVE) and holds it to commit:
/// writers of the log take turns, `seq` order is commit order, and a
/// reader that has seen `seq` n has seen everything below it. Readers
/// (plain SELECTs) are not blocked. The lock is taken last in each
/// transaction, after any row locks, and nothing waits while holding it
/// but the commit, so it cannot take part in a deadlock; it does limit the
/// log to one writing transaction at a time, which is ample for logouts,
/// password changes and revocations.
pub(super) async fn insert_revocations(tx: &mut Tx<'_>, entries: &[Revocation]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    sqlx::query("LOCK TABLE revocations IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    for r in entries {
        let (kind, value) = target_parts(&r.target);
        sqlx::query(
            "INSERT INTO revocations (kind, value, at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(kind)
        .bind(value)
        .bind(r.at.unix_millis())
        .bind(r.expires_at.unix_millis())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    // Delivered to every listening node when (and only if) this commits.
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(super::REVOCATION_CHANNEL)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl Revocations for PgStore {
    async fn add_revocations(&self, entries: &[Revocation]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        insert_revocations(&mut tx, entries).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Entries after `cursor`, and the highest `seq` returned. Because
    /// writers commit in `seq` order (see [`insert_revocations`]), no entry
    /// at or below the new cursor can appear later.
    async fn revocations_since(
        &self,
        cursor: i64,
        now: Timestamp,
    ) -> Result<(Vec<Revocation>, i64)> {
        let rows = sqlx::query(
            "SELECT seq, kind, value, at, expires_at FROM revocations \
             WHERE seq > $1 AND expires_at > $2 ORDER BY seq",
        )
        .bind(cursor)
        .bind(now.unix_millis())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut next = cursor;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            next = next.max(row.try_get::<i64, _>("seq").map_err(corrupt)?);
            let kind: String = row.try_get("kind").map_err(corrupt)?;
            let value: String = row.try_get("value").map_err(corrupt)?;
            out.push(Revocation {
                target: target_from_parts(&kind, value)?,
                at: ts(row, "at")?,
                expires_at: ts(row, "expires_at")?,
            });
        }
        Ok((out, next))
    }

    async fn prune_revocations(&self, now: Timestamp) -> Result<u64> {
        self.affected_at("DELETE FROM revocations WHERE expires_at <= $1", now)
            .await
    }
}

fn key_from_row(row: &PgRow) -> Result<KeyRecord> {
    Ok(KeyRecord {
        kid: row.try_get("kid").map_err(corrupt)?,
        alg: row.try_get("alg").map_err(corrupt)?,
        private: row.try_get("private").map_err(corrupt)?,
        sealed: row.try_get("sealed").map_err(corrupt)?,
        created_at: ts(row, "created_at")?,
        retired_at: opt_ts(row, "retired_at")?,
        not_after: opt_ts(row, "not_after")?,
    })
}

#[async_trait]
impl Keys for PgStore {
    async fn keys(&self) -> Result<Vec<KeyRecord>> {
        sqlx::query("SELECT * FROM signing_keys ORDER BY created_at DESC, kid COLLATE \"C\"")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(key_from_row)
            .collect()
    }

    async fn add_first_key(&self, key: &KeyRecord) -> Result<bool> {
        // `signing_keys_one_current` admits one unretired key: of two nodes
        // inserting at once, the second waits for the first to commit and
        // then does nothing. (A clash on `kid` is still an error.)
        let n = sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private, sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT ((true)) WHERE retired_at IS NULL DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.private.as_slice())
        .bind(key.sealed)
        .bind(key.created_at.unix_millis())
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n > 0)
    }

    async fn rotate_key(
        &self,
        key: &KeyRecord,
        now: Timestamp,
        retired_not_after: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Rotations take turns (the lock conflicts with itself and with
        // every write), so a second rotation's UPDATE sees and retires the
        // key the first one stored, as on SQLite.
        sqlx::query("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1, not_after = $2 WHERE retired_at IS NULL",
        )
        .bind(now.unix_millis())
        .bind(retired_not_after.unix_millis())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private, sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.private.as_slice())
        .bind(key.sealed)
        .bind(key.created_at.unix_millis())
        .execute(&mut *tx)
        .await
        .map_err(|e| super::db_err_as(e, "key id exists"))?;
        tx.commit().await.map_err(db_err)
    }

    async fn seal_key(&self, kid: &str, sealed_private: &[u8]) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE signing_keys SET private = $1, sealed = TRUE WHERE kid = $2 AND NOT sealed",
        )
        .bind(sealed_private)
        .bind(kid)
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n > 0)
    }

    async fn delete_expired_keys(&self, now: Timestamp) -> Result<u64> {
        self.affected_at(
            "DELETE FROM signing_keys WHERE not_after IS NOT NULL AND not_after <= $1",
            now,
        )
        .await
    }
}
