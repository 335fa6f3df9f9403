//! Refresh families and rotation.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::refresh::{self, Decision, RefreshHash, TokenState};
use latchkey_core::revocation::Target;
use latchkey_core::{Assurance, Timestamp, UserId};
use sqlx::{Database, Pool};
use tokio::sync::{Mutex, watch};

use super::assurance::{FAMILY_READ, FAMILY_WRITE, assurance_from_row, raise};
use super::{Columns, Dialect, SqlStore, Tx, commit, corrupt, fail, family_of_token, q};
use crate::tokens::{Family, RefreshOutcome, RefreshTokens};
use crate::{Ended, Result, RevokeAt, StoreError};

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

/// One presented refresh token and what to do with it.
struct Rotation<'a> {
    presented: &'a RefreshHash,
    successor: &'a RefreshHash,
    at: RevokeAt<'a>,
    grace: Duration,
}

impl Rotation<'_> {
    /// Reads the token, its family and its successor inside `tx` (which
    /// holds the write lock or the rows' locks) and rotates, refuses or
    /// revokes the family as [`refresh::decide`] says.
    async fn run_in<D: Dialect>(&self, tx: &mut Tx<D>) -> Result<RefreshOutcome> {
        let Some(row) = q(D::TOKEN_FOR_ROTATION)
            .bind(self.presented.as_bytes().as_slice())
            .fetch_optional(&mut *tx)
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
        let now = self.at.now;
        Ok(match refresh::decide(state, now, self.grace) {
            Decision::Rotate => {
                rotate_in(tx, self.presented, self.successor, &family.id, now).await?;
                RefreshOutcome::Rotated {
                    family,
                    issued_at: now,
                }
            }
            Decision::Grace { issued_at }
                if stored_successor.as_deref() == Some(self.successor.as_bytes().as_slice()) =>
            {
                RefreshOutcome::Grace { family, issued_at }
            }
            Decision::Grace { .. } | Decision::Reuse => {
                let ended = revoke_in(tx, &family.id, self.at).await?;
                RefreshOutcome::Reused {
                    family,
                    revocations: ended.revocations,
                }
            }
            Decision::Expired => RefreshOutcome::Expired,
            Decision::Revoked => RefreshOutcome::Revoked,
        })
    }
}

/// Refresh rotations that share one transaction and one commit (SQLite:
/// [`Dialect::GROUP_ROTATIONS`]).
///
/// SQLite has one writer at a time and a commit waits for the disk
/// (`synchronous=FULL`): one rotation per commit caps refresh at the
/// disk's flushes per second (~1,800 here), and writers waiting on the
/// file lock sleep in SQLite's busy handler. Instead, the first rotation
/// to find no batch open begins one (`BEGIN IMMEDIATE`) and spawns its
/// committer; rotations that arrive meanwhile join it, each inside its
/// own savepoint, in the order they queued; the committer queues behind
/// them, commits once and tells every member. Nobody is answered before
/// the commit that holds their rotation, and a failed commit fails them
/// all (none of their tokens was spent). Rotations that arrive during a
/// commit wait for it and form the next batch, so a batch is as large as
/// the load and a lone rotation waits for no one.
///
/// A member whose caller goes away mid-rotation leaves its savepoint
/// open; the next one to hold the batch rolls it back first.
pub(crate) struct Rotations<D: Database> {
    open: Mutex<Option<Batch<D>>>,
}

impl<D: Database> Default for Rotations<D> {
    fn default() -> Self {
        Self {
            open: Mutex::new(None),
        }
    }
}

struct Batch<D: Database> {
    tx: Tx<D>,
    /// Set to the commit's outcome once it is known.
    done: watch::Sender<Option<Result<()>>>,
    /// A member's savepoint is open (its caller went away inside it).
    dirty: bool,
}

impl<D: Dialect> Rotations<D> {
    async fn run(
        self: &Arc<Self>,
        pool: &Pool<D>,
        rotation: Rotation<'_>,
    ) -> Result<RefreshOutcome> {
        let (mut committed, outcome) = {
            let mut open = self.open.lock().await;
            let batch = match open.take() {
                Some(batch) => batch,
                None => {
                    let tx = pool
                        .begin_with(D::BEGIN_ROTATION)
                        .await
                        .map_err(fail::<D>)?;
                    tokio::spawn(Arc::clone(self).commit());
                    Batch {
                        tx,
                        done: watch::channel(None).0,
                        dirty: false,
                    }
                }
            };
            let batch = open.insert(batch);
            let outcome = match batch.join(&rotation).await {
                Ok(outcome) => outcome,
                Err(Broken(e)) => {
                    // The batch cannot go on: its members are told, and
                    // its transaction is rolled back as it is dropped.
                    if let Some(batch) = open.take() {
                        batch.done.send_replace(Some(Err(e.clone())));
                    }
                    return Err(e);
                }
            };
            (batch.done.subscribe(), outcome)
        };
        let outcome = outcome?;
        // The committer always sends an outcome; a batch dropped without
        // one (its runtime gone) counts as a failed commit.
        let commit = committed
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|done| done.clone());
        commit
            .unwrap_or_else(|| {
                Err(StoreError::Unavailable(
                    "refresh batch ended without a commit".into(),
                ))
            })
            .map(|()| outcome)
    }

    /// Waits for the members queued before it, then commits their batch
    /// and tells them.
    async fn commit(self: Arc<Self>) {
        let mut open = self.open.lock().await;
        let Some(Batch {
            mut tx,
            done,
            dirty,
        }) = open.take()
        else {
            return;
        };
        let result = async {
            if dirty {
                undo_member::<D>(&mut tx).await?;
            }
            commit(tx).await
        }
        .await;
        done.send_replace(Some(result));
    }
}

/// The batch's transaction is no longer usable.
struct Broken(StoreError);

impl<D: Dialect> Batch<D> {
    /// Runs `rotation` in its own savepoint. Its own failure is rolled
    /// back to the savepoint and returned inside `Ok`; `Err` means the
    /// batch itself failed.
    async fn join(
        &mut self,
        rotation: &Rotation<'_>,
    ) -> std::result::Result<Result<RefreshOutcome>, Broken> {
        if self.dirty {
            undo_member::<D>(&mut self.tx).await.map_err(Broken)?;
            self.dirty = false;
        }
        self.dirty = true;
        q("SAVEPOINT rotation")
            .execute(&mut self.tx)
            .await
            .map_err(Broken)?;
        let outcome = rotation.run_in(&mut self.tx).await;
        if outcome.is_ok() {
            q("RELEASE rotation")
                .execute(&mut self.tx)
                .await
                .map_err(Broken)?;
        } else {
            undo_member::<D>(&mut self.tx).await.map_err(Broken)?;
        }
        self.dirty = false;
        Ok(outcome)
    }
}

/// Undoes and closes the open member savepoint.
async fn undo_member<D: Dialect>(tx: &mut Tx<D>) -> Result<()> {
    q("ROLLBACK TO rotation").execute(&mut *tx).await?;
    q("RELEASE rotation").execute(&mut *tx).await.map(drop)
}

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
        let rotation = Rotation {
            presented,
            successor,
            at,
            grace,
        };
        if D::GROUP_ROTATIONS {
            return self.rotations.run(&self.pool, rotation).await;
        }
        // The dialect's start and locking read serialise two refreshes of
        // one token (on any connections or nodes): the second reads the row
        // as the first left it ("spent") instead of both reading "unspent".
        let mut tx = self
            .pool
            .begin_with(D::BEGIN_ROTATION)
            .await
            .map_err(fail::<D>)?;
        let outcome = rotation.run_in(&mut tx).await?;
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
