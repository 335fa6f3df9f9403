//! The revocation log and signing keys.

use async_trait::async_trait;
use latchkey_core::Timestamp;
use latchkey_core::revocation::Revocation;

use super::{Columns, Dialect, SqlStore, Stmt, Tx, commit, q};
use crate::Result;
use crate::tokens::{KeyRecord, Keys, Revocations, target_from_parts, target_parts};

/// Appends `entries` to the revocation log inside `tx`, between the
/// dialect's lock (PostgreSQL: so that `seq` order is commit order, see
/// `postgres/`) and its announcement (PostgreSQL: `NOTIFY`, delivered when
/// and only if this commits).
pub(super) async fn insert_revocations<D: Dialect>(
    tx: &mut Tx<D>,
    entries: &[Revocation],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    if let Some(lock) = D::LOCK_REVOCATIONS {
        q(lock).execute(&mut *tx).await?;
    }
    for r in entries {
        let (kind, value) = target_parts(&r.target);
        q("INSERT INTO revocations (kind, value, at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(kind)
            .bind(value)
            .bind(r.at)
            .bind(r.expires_at)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(announce) = D::ANNOUNCE_REVOCATIONS {
        q(announce).execute(&mut *tx).await?;
    }
    Ok(())
}

fn revocation_from_row(row: &impl Columns) -> Result<Revocation> {
    Ok(Revocation {
        target: target_from_parts(&row.text("kind")?, row.text("value")?)?,
        at: row.at("at")?,
        expires_at: row.at("expires_at")?,
    })
}

/// Denylist entries read per query. A start on 100,000 entries read in one
/// query left ~50 MB in SQLite's allocator (the C library's, in the
/// driver's thread), which it kept (docs/BENCHMARKS.md, "As the store
/// grows").
pub(crate) const REVOCATIONS_PAGE: i64 = 2_000;

#[async_trait]
impl<D: Dialect> Revocations for SqlStore<D> {
    async fn add_revocations(&self, entries: &[Revocation]) -> Result<()> {
        let mut tx = self.begin().await?;
        insert_revocations(&mut tx, entries).await?;
        commit(tx).await
    }

    /// Entries after `cursor`, and the highest `seq` returned. Because
    /// writers commit in `seq` order (see [`insert_revocations`]), no entry
    /// at or below the new cursor can appear later. Read in pages of
    /// [`REVOCATIONS_PAGE`], so a node catching up on a large denylist
    /// never has the driver hold the whole table at once.
    async fn revocations_since(
        &self,
        cursor: i64,
        now: Timestamp,
    ) -> Result<(Vec<Revocation>, i64)> {
        let mut next = cursor;
        let mut out = Vec::new();
        loop {
            let rows = q("SELECT seq, kind, value, at, expires_at FROM revocations \
                          WHERE seq > $1 AND expires_at > $2 ORDER BY seq LIMIT $3")
            .bind(next)
            .bind(now)
            .bind(REVOCATIONS_PAGE)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                next = next.max(row.int("seq")?);
                out.push(revocation_from_row(row)?);
            }
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < REVOCATIONS_PAGE {
                return Ok((out, next));
            }
        }
    }

    async fn prune_revocations(&self, now: Timestamp) -> Result<u64> {
        q("DELETE FROM revocations WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
    }
}

fn key_from_row(row: &impl Columns) -> Result<KeyRecord> {
    Ok(KeyRecord {
        kid: row.text("kid")?,
        alg: row.text("alg")?,
        private: row.bytes("private")?,
        sealed: row.flag("sealed")?,
        created_at: row.at("created_at")?,
        retired_at: row.opt_at("retired_at")?,
        not_after: row.opt_at("not_after")?,
    })
}

/// `sql` (an insert of `$1` … `$5`: kid, alg, private, sealed,
/// created_at) with `key` bound.
fn insert_key<'a>(sql: &'static str, key: &'a KeyRecord) -> Stmt<'a> {
    q(sql)
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.private.as_slice())
        .bind(key.sealed)
        .bind(key.created_at)
        .unique("key id exists")
}

#[async_trait]
impl<D: Dialect> Keys for SqlStore<D> {
    async fn keys(&self) -> Result<Vec<KeyRecord>> {
        q(D::SIGNING_KEYS)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(key_from_row)
            .collect()
    }

    async fn add_first_key(&self, key: &KeyRecord) -> Result<bool> {
        let n = insert_key(D::ADD_FIRST_KEY, key)
            .execute(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn rotate_key(
        &self,
        key: &KeyRecord,
        now: Timestamp,
        retired_not_after: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        // Rotations take turns, so a second rotation's UPDATE sees and
        // retires the key the first one stored.
        if let Some(lock) = D::LOCK_KEYS {
            q(lock).execute(&mut tx).await?;
        }
        q("UPDATE signing_keys SET retired_at = $1, not_after = $2 WHERE retired_at IS NULL")
            .bind(now)
            .bind(retired_not_after)
            .execute(&mut tx)
            .await?;
        insert_key(
            "INSERT INTO signing_keys (kid, alg, private, sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            key,
        )
        .execute(&mut tx)
        .await?;
        commit(tx).await
    }

    async fn seal_key(&self, kid: &str, sealed_private: &[u8]) -> Result<bool> {
        let n =
            q("UPDATE signing_keys SET private = $1, sealed = TRUE WHERE kid = $2 AND NOT sealed")
                .bind(sealed_private)
                .bind(kid)
                .execute(&self.pool)
                .await?;
        Ok(n > 0)
    }

    async fn delete_expired_keys(&self, now: Timestamp) -> Result<u64> {
        q("DELETE FROM signing_keys WHERE not_after IS NOT NULL AND not_after <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
    }
}
