//! The PostgreSQL backend, for several nodes sharing one database. The
//! same tables as SQLite (`migrations/postgres/`, compiled in and applied
//! at open under sqlx's migration lock, so nodes starting together migrate
//! once), the same semantics, the same conformance suite.
//!
//! Where SQLite serialises writers with one file lock, this backend states
//! each concurrency rule in SQL: refresh rotation locks the presented
//! token's row (`SELECT … FOR UPDATE`), a failure is counted by one upsert,
//! the first signing key is guarded by a partial unique index, and
//! revocation writers take a table lock so that `seq` order is commit order
//! (see `tokens.rs`). Transactions run at PostgreSQL's default `READ
//! COMMITTED`.
//!
//! Every statement has a time limit (`statement_timeout`, 5 s unless the
//! URL sets one), so a stuck lock surfaces as [`StoreError::Unavailable`]
//! instead of a hung request. Queries are checked at run time (`sqlx::query`,
//! not `query!`), so the build needs no database.

use std::str::FromStr as _;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::revocation::{Revocation, Target};
use latchkey_core::throttle::FailureWindow;
use latchkey_core::{
    PasswordHash, Session, SessionHandle, SessionSecretHash, Timestamp, UserId, Username,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Row as _, migrate::Migrator};

mod error;
mod tokens;

pub(crate) use error::{corrupt, db_err, db_err_as};

use crate::{
    Ended, Keep, LoginFailures, Result, RevokeAt, Secrets, Sessions, Store, StoreError, User,
    Users, millis_to_duration,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per node. PostgreSQL's default `max_connections` is 100:
/// size the server for `nodes × 16` plus room for administration.
const MAX_CONNECTIONS: u32 = 16;
/// How long a caller waits for a free connection, and the default limit
/// on any one statement.
const TIMEOUT: Duration = Duration::from_secs(5);
const STATEMENT_TIMEOUT: &str = "5s";

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

/// The LISTEN/NOTIFY channel on which committed revocations are announced.
pub const REVOCATION_CHANNEL: &str = "latchkey_revocations";

impl PgStore {
    /// Connects to `url` (`postgres://user:pass@host:5432/db`; libpq-style
    /// parameters such as `sslmode` and `options=-c search_path=…` apply)
    /// and applies migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
        // Sent at connection start-up, so it costs no round trip and also
        // bounds the migration. A `statement_timeout` in the URL wins.
        if !options
            .get_options()
            .is_some_and(|o| o.contains("statement_timeout"))
        {
            options = options.options([("statement_timeout", STATEMENT_TIMEOUT)]);
        }
        if options.get_application_name().is_none() {
            options = options.application_name("latchkey");
        }
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(TIMEOUT)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }

    /// Runs a statement whose one parameter is a time (`$1`); returns how
    /// many rows it touched. For the sweeps.
    pub(super) async fn affected_at(&self, sql: &'static str, t: Timestamp) -> Result<u64> {
        Ok(sqlx::query(sql)
            .bind(t.unix_millis())
            .execute(&self.pool)
            .await
            .map_err(db_err)?
            .rows_affected())
    }

    /// Closes the pool: waits for connections in use to come back, then
    /// ends every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub(super) fn ts(row: &PgRow, col: &str) -> Result<Timestamp> {
    row.try_get::<i64, _>(col)
        .map(Timestamp::from_unix_millis)
        .map_err(corrupt)
}

fn user_from_row(row: &PgRow) -> Result<User> {
    let id: String = row.try_get("id").map_err(corrupt)?;
    let name: String = row.try_get("username").map_err(corrupt)?;
    Ok(User {
        id: UserId::parse(&id).map_err(corrupt)?,
        username: Username::parse(&name).map_err(corrupt)?,
        password_hash: PasswordHash::from_stored(row.try_get("password_hash").map_err(corrupt)?),
        created_at: ts(row, "created_at")?,
    })
}

fn session_from_row(row: &PgRow) -> Result<Session> {
    let handle: String = row.try_get("handle").map_err(corrupt)?;
    let user_id: String = row.try_get("user_id").map_err(corrupt)?;
    Ok(Session {
        handle: SessionHandle::parse(&handle).map_err(corrupt)?,
        user_id: UserId::parse(&user_id).map_err(corrupt)?,
        created_at: ts(row, "created_at")?,
        last_seen_at: ts(row, "last_seen_at")?,
        idle_expires_at: ts(row, "idle_expires_at")?,
        absolute_expires_at: ts(row, "absolute_expires_at")?,
        persistent: row.try_get("persistent").map_err(corrupt)?,
        user_agent: row.try_get("user_agent").map_err(corrupt)?,
        ip: row.try_get("ip").map_err(corrupt)?,
    })
}

/// The session columns, as a literal so that queries stay `&'static str`.
macro_rules! session_columns {
    () => {
        "s.handle, s.user_id, s.created_at, s.last_seen_at, s.idle_expires_at, \
         s.absolute_expires_at, s.persistent, s.user_agent, s.ip"
    };
}

#[async_trait]
impl Users for PgStore {
    async fn create_user(&self, user: &User) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.id.to_string())
        .bind(user.username.as_str())
        .bind(user.password_hash.as_str())
        .bind(user.created_at.unix_millis())
        .execute(&self.pool)
        .await
        .map_err(|e| db_err_as(e, "username taken"))?;
        Ok(())
    }

    async fn user_by_name(&self, username: &Username) -> Result<Option<User>> {
        sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn replace_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep: Keep<'_>,
        at: RevokeAt,
    ) -> Result<Ended> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let ended = end_in(&mut tx, id, keep, at, false).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ended)
    }

    async fn rehash_password(&self, id: UserId, hash: &PasswordHash) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl Sessions for PgStore {
    async fn create_session(&self, secret: &SessionSecretHash, s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (secret_hash, handle, user_id, created_at, last_seen_at, \
             idle_expires_at, absolute_expires_at, persistent, user_agent, ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(secret.as_bytes().as_slice())
        .bind(s.handle.as_str())
        .bind(s.user_id.to_string())
        .bind(s.created_at.unix_millis())
        .bind(s.last_seen_at.unix_millis())
        .bind(s.idle_expires_at.unix_millis())
        .bind(s.absolute_expires_at.unix_millis())
        .bind(s.persistent)
        .bind(s.user_agent.as_deref())
        .bind(s.ip.as_deref())
        .execute(&self.pool)
        .await
        .map_err(|e| db_err_as(e, "session exists"))?;
        Ok(())
    }

    async fn session_by_secret(
        &self,
        secret: &SessionSecretHash,
    ) -> Result<Option<(Session, Username)>> {
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            ", u.username FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.secret_hash = $1"
        ))
        .bind(secret.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        else {
            return Ok(None);
        };
        let name: String = row.try_get("username").map_err(corrupt)?;
        Ok(Some((
            session_from_row(&row)?,
            Username::parse(&name).map_err(corrupt)?,
        )))
    }

    async fn touch_session(
        &self,
        secret: &SessionSecretHash,
        last_seen_at: Timestamp,
        idle_expires_at: Timestamp,
    ) -> Result<()> {
        // Never moves last-seen backwards (two nodes touching at once: the
        // second waits for the first's row lock, then re-checks).
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 \
             WHERE secret_hash = $3 AND last_seen_at < $1",
        )
        .bind(last_seen_at.unix_millis())
        .bind(idle_expires_at.unix_millis())
        .bind(secret.as_bytes().as_slice())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_session_by_secret(
        &self,
        secret: &SessionSecretHash,
        at: RevokeAt,
    ) -> Result<Ended> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let handles: Vec<String> =
            sqlx::query_scalar("DELETE FROM sessions WHERE secret_hash = $1 RETURNING handle")
                .bind(secret.as_bytes().as_slice())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
        let ended = record_ended(&mut tx, handles, Vec::new(), at, None).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ended)
    }

    async fn delete_session(
        &self,
        handle: &SessionHandle,
        owner: Option<UserId>,
        at: RevokeAt,
    ) -> Result<Ended> {
        let owner = owner.map(|u| u.to_string());
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let handles: Vec<String> = sqlx::query_scalar(
            "DELETE FROM sessions WHERE handle = $1 AND ($2::text IS NULL OR user_id = $2) \
             RETURNING handle",
        )
        .bind(handle.as_str())
        .bind(owner.as_deref())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let ended = record_ended(&mut tx, handles, Vec::new(), at, None).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ended)
    }

    async fn end_user_sessions(
        &self,
        user: UserId,
        keep: Keep<'_>,
        at: RevokeAt,
        not_before: bool,
    ) -> Result<Ended> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let ended = end_in(&mut tx, user, keep, at, not_before).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ended)
    }

    async fn list_sessions(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Session>> {
        let uid = user.map(|u| u.to_string());
        // COLLATE "C": ties break in byte order, as on SQLite.
        sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s WHERE ($1::text IS NULL OR s.user_id = $1) \
             AND s.idle_expires_at > $2 AND s.absolute_expires_at > $2 \
             ORDER BY s.created_at DESC, s.handle COLLATE \"C\""
        ))
        .bind(uid.as_deref())
        .bind(now.unix_millis())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(session_from_row)
        .collect()
    }

    async fn count_active_sessions(&self, now: Timestamp) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE idle_expires_at > $1 AND absolute_expires_at > $1",
        )
        .bind(now.unix_millis())
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        u64::try_from(n).map_err(corrupt)
    }

    async fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        self.affected_at(
            "DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1",
            now,
        )
        .await
    }
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

/// Ends the user's sessions and refresh families (but `keep`) inside `tx`
/// and records their revocations.
async fn end_in(
    tx: &mut Tx<'_>,
    user: UserId,
    keep: Keep<'_>,
    at: RevokeAt,
    not_before: bool,
) -> Result<Ended> {
    let uid = user.to_string();
    // SQLite's `IS NOT` (NULL-safe) is `IS DISTINCT FROM` here.
    let handles: Vec<String> = sqlx::query_scalar(
        "DELETE FROM sessions WHERE user_id = $1 AND handle IS DISTINCT FROM $2 \
         RETURNING handle",
    )
    .bind(&uid)
    .bind(keep.session.map(SessionHandle::as_str))
    .fetch_all(&mut **tx)
    .await
    .map_err(db_err)?;
    let families: Vec<String> = sqlx::query_scalar(
        "UPDATE refresh_families SET revoked_at = $1 \
         WHERE user_id = $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3 \
         AND expires_at > $1 \
         RETURNING id",
    )
    .bind(at.now.unix_millis())
    .bind(&uid)
    .bind(keep.family)
    .fetch_all(&mut **tx)
    .await
    .map_err(db_err)?;
    let user_entry = not_before.then(|| at.entry(Target::User(uid)));
    record_ended(tx, handles, families, at, user_entry).await
}

/// Writes a `sid` revocation for each ended session and family (plus
/// `extra`) and returns what ended.
async fn record_ended(
    tx: &mut Tx<'_>,
    handles: Vec<String>,
    families: Vec<String>,
    at: RevokeAt,
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
    tokens::insert_revocations(tx, &revocations).await?;
    Ok(Ended {
        sessions,
        families,
        revocations,
    })
}

#[async_trait]
impl Secrets for PgStore {
    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
        // A concurrent first insert makes this one wait for its commit and
        // then do nothing, so the SELECT sees the winner's value.
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }
}

fn window_from_row(row: &PgRow) -> Result<FailureWindow> {
    let n: i64 = row.try_get("count").map_err(corrupt)?;
    Ok(FailureWindow {
        count: u32::try_from(n).unwrap_or(u32::MAX),
        started_at: ts(row, "started_at")?,
    })
}

#[async_trait]
impl LoginFailures for PgStore {
    async fn failures(&self, key: &str) -> Result<Option<FailureWindow>> {
        sqlx::query("SELECT count, started_at FROM login_failures WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
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
        // insert waits and then takes the UPDATE branch). The SQLite
        // expression, with the old row named by its table: in SET, every
        // `login_failures.` column is the old value.
        let row = sqlx::query(
            "INSERT INTO login_failures (key, count, started_at) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN login_failures.started_at + $3 > $2 \
                       THEN login_failures.count + 1 ELSE 1 END, \
               started_at = CASE WHEN login_failures.started_at + $3 > $2 \
                            THEN login_failures.started_at ELSE $2 END \
             RETURNING count, started_at",
        )
        .bind(key)
        .bind(now.unix_millis())
        .bind(millis_to_duration(window))
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        window_from_row(&row)
    }

    async fn clear_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn forgive_failure(&self, key: &str) -> Result<()> {
        sqlx::query("UPDATE login_failures SET count = count - 1 WHERE key = $1 AND count > 0")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn sweep_failures(&self, cutoff: Timestamp) -> Result<u64> {
        self.affected_at("DELETE FROM login_failures WHERE started_at < $1", cutoff)
            .await
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn close(&self) {
        Self::close(self).await;
    }

    async fn watch_revocations(&self, wake: tokio::sync::mpsc::Sender<()>) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut backoff = std::time::Duration::from_millis(100);
            loop {
                match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if listener.listen(REVOCATION_CHANNEL).await.is_ok() {
                            backoff = std::time::Duration::from_millis(100);
                            // Anything committed while we were not listening
                            // is read by the wake-up that follows (re)connecting.
                            if wake.send(()).await.is_err() {
                                return;
                            }
                            while listener.recv().await.is_ok() {
                                if wake.send(()).await.is_err() {
                                    return;
                                }
                            }
                        }
                        tracing::warn!("revocation channel lost; reconnecting");
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for revocations"),
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
            }
        });
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}
