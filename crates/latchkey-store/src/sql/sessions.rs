//! Sessions, and ending them with their revocations in one transaction.

use async_trait::async_trait;
use latchkey_core::revocation::{Revocation, Target};
use latchkey_core::{
    Assurance, Session, SessionHandle, SessionSecretHash, Timestamp, UserId, Username,
};

use super::assurance::{SESSION_READ, SESSION_WRITE, assurance_from_row, raise};
use super::{Columns, Dialect, SqlStore, Tx, commit, corrupt, q, session_columns};
use crate::{Ended, Keep, Result, RevokeAt, Sessions};

fn session_from_row(row: &impl Columns) -> Result<Session> {
    Ok(Session {
        handle: SessionHandle::parse(&row.text("handle")?).map_err(corrupt)?,
        user_id: UserId::parse(&row.text("user_id")?).map_err(corrupt)?,
        created_at: row.at("created_at")?,
        last_seen_at: row.at("last_seen_at")?,
        idle_expires_at: row.at("idle_expires_at")?,
        absolute_expires_at: row.at("absolute_expires_at")?,
        persistent: row.flag("persistent")?,
        user_agent: row.opt_text("user_agent")?,
        ip: row.opt_text("ip")?,
        assurance: assurance_from_row(row)?,
    })
}

fn handles(rows: &[impl Columns]) -> Result<Vec<String>> {
    rows.iter().map(|r| r.text("handle")).collect()
}

#[async_trait]
impl<D: Dialect> Sessions for SqlStore<D> {
    async fn create_session(&self, secret: &SessionSecretHash, s: &Session) -> Result<()> {
        q(
            "INSERT INTO sessions (secret_hash, handle, user_id, created_at, last_seen_at, \
           idle_expires_at, absolute_expires_at, persistent, user_agent, ip, amr, auth_time) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(secret.as_bytes().as_slice())
        .bind(s.handle.as_str())
        .bind(&s.user_id.to_string())
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.idle_expires_at)
        .bind(s.absolute_expires_at)
        .bind(s.persistent)
        .bind(s.user_agent.as_deref())
        .bind(s.ip.as_deref())
        .bind(s.assurance.amr_text().as_str())
        .bind(s.assurance.auth_time)
        .unique("session exists")
        .execute(&self.pool)
        .await
        .map(drop)
    }

    async fn session_by_secret(
        &self,
        secret: &SessionSecretHash,
    ) -> Result<Option<(Session, Username)>> {
        let Some(row) = q(concat!(
            "SELECT ",
            session_columns!(),
            ", u.username FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.secret_hash = $1"
        ))
        .bind(secret.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let name = Username::parse(&row.text("username")?).map_err(corrupt)?;
        Ok(Some((session_from_row(&row)?, name)))
    }

    async fn touch_session(
        &self,
        secret: &SessionSecretHash,
        last_seen_at: Timestamp,
        idle_expires_at: Timestamp,
    ) -> Result<()> {
        // Never moves last-seen backwards (two nodes touching at once: the
        // second waits for the first's row lock, then re-checks).
        q(
            "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 \
           WHERE secret_hash = $3 AND last_seen_at < $1",
        )
        .bind(last_seen_at)
        .bind(idle_expires_at)
        .bind(secret.as_bytes().as_slice())
        .execute(&self.pool)
        .await
        .map(drop)
    }

    async fn reauthenticate_session(
        &self,
        secret: &SessionSecretHash,
        added: &[String],
        at: Timestamp,
    ) -> Result<Option<Assurance>> {
        let key = secret.as_bytes().as_slice().into();
        raise(&self.pool, (SESSION_READ, SESSION_WRITE), key, added, at).await
    }

    async fn delete_session_by_secret(
        &self,
        secret: &SessionSecretHash,
        at: RevokeAt<'_>,
    ) -> Result<Ended> {
        let mut tx = self.begin().await?;
        let rows = q("DELETE FROM sessions WHERE secret_hash = $1 RETURNING handle")
            .bind(secret.as_bytes().as_slice())
            .fetch_all(&mut tx)
            .await?;
        let ended = record_ended(&mut tx, handles(&rows)?, Vec::new(), at, None).await?;
        commit(tx).await?;
        Ok(ended)
    }

    async fn delete_session(
        &self,
        handle: &SessionHandle,
        owner: Option<UserId>,
        at: RevokeAt<'_>,
    ) -> Result<Ended> {
        let owner = owner.map(|u| u.to_string());
        let mut tx = self.begin().await?;
        let rows = q("DELETE FROM sessions \
                      WHERE handle = $1 AND (CAST($2 AS TEXT) IS NULL OR user_id = $2) \
                      RETURNING handle")
        .bind(handle.as_str())
        .bind(owner.as_deref())
        .fetch_all(&mut tx)
        .await?;
        let ended = record_ended(&mut tx, handles(&rows)?, Vec::new(), at, None).await?;
        commit(tx).await?;
        Ok(ended)
    }

    async fn end_user_sessions(
        &self,
        user: UserId,
        keep: Keep<'_>,
        at: RevokeAt<'_>,
        not_before: bool,
    ) -> Result<Ended> {
        let mut tx = self.begin().await?;
        let ended = end_in(&mut tx, user, keep, at, not_before).await?;
        commit(tx).await?;
        Ok(ended)
    }

    async fn list_sessions(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Session>> {
        let uid = user.map(|u| u.to_string());
        q(D::LIST_SESSIONS)
            .bind(uid.as_deref())
            .bind(now)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(session_from_row)
            .collect()
    }

    async fn count_active_sessions(&self, now: Timestamp) -> Result<u64> {
        let n = q("SELECT COUNT(*) AS n FROM sessions \
                   WHERE idle_expires_at > $1 AND absolute_expires_at > $1")
        .bind(now)
        .fetch_one(&self.pool)
        .await?
        .int("n")?;
        u64::try_from(n).map_err(corrupt)
    }

    async fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        q("DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
    }
}

/// Ends the user's sessions and refresh families (but `keep`) inside `tx`
/// and records their revocations.
pub(super) async fn end_in<D: Dialect>(
    tx: &mut Tx<D>,
    user: UserId,
    keep: Keep<'_>,
    at: RevokeAt<'_>,
    not_before: bool,
) -> Result<Ended> {
    let uid = user.to_string();
    let sessions = q(
        "DELETE FROM sessions WHERE user_id = $1 AND handle IS DISTINCT FROM $2 \
                      RETURNING handle",
    )
    .bind(&uid)
    .bind(keep.session.map(SessionHandle::as_str))
    .fetch_all(&mut *tx)
    .await?;
    let families = q("UPDATE refresh_families SET revoked_at = $1 \
                      WHERE user_id = $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3 \
                      AND expires_at > $1 RETURNING id")
    .bind(at.now)
    .bind(&uid)
    .bind(keep.family)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.text("id"))
    .collect::<Result<Vec<_>>>()?;
    let user_entry = not_before.then(|| at.entry(Target::User(uid)));
    record_ended(tx, handles(&sessions)?, families, at, user_entry).await
}

/// Writes a `sid` revocation for each ended session and family (plus
/// `extra`) and returns what ended.
async fn record_ended<D: Dialect>(
    tx: &mut Tx<D>,
    handles: Vec<String>,
    families: Vec<String>,
    at: RevokeAt<'_>,
    extra: Option<Revocation>,
) -> Result<Ended> {
    let sessions = handles
        .iter()
        .map(|h| SessionHandle::parse(h).map_err(corrupt))
        .collect::<Result<Vec<_>>>()?;
    let revocations: Vec<Revocation> = handles
        .iter()
        .chain(&families)
        .map(|sid| at.entry(Target::Sid(sid.clone())))
        .chain(extra)
        .collect();
    super::tokens::insert_revocations(tx, &revocations).await?;
    let ended = Ended {
        sessions,
        families,
        revocations,
    };
    super::audit::record_change(tx, at, &ended).await?;
    Ok(ended)
}
