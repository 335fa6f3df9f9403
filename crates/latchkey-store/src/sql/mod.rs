//! The SQL layer: every query and row mapping of the SQLite and PostgreSQL
//! backends, written once.
//!
//! [`SqlStore<D>`] implements the store traits for any [`Dialect`] `D`
//! (a sqlx database: `sqlx::Sqlite` in `sqlite/`, `sqlx::Postgres` in
//! `postgres/`). Queries are static SQL with `$1`-style placeholders, which
//! both drivers bind (see [`query`]). The dialect supplies only what truly
//! differs: how a refresh rotation starts and locks, the statements a
//! revocation writer runs around its inserts, the first-key insert, the
//! byte-order collation of listings, how rows-affected is read and how an
//! unclassified error is described. Everything else — the statements, the
//! transactions, the row mappings, the error classes ([`error`]) — is here.
//!
//! Queries are checked at run time (`sqlx::query`, not `query!`), so the
//! build needs no database; the conformance suite runs every query on both.

mod accounts;
mod admin;
mod assurance;
mod audit;
mod email;
mod error;
mod federation;
mod groups;
mod mfa;
mod outbox;
mod passkeys;
mod query;
mod refresh;
mod sessions;
mod tokens;
mod webhooks;

use async_trait::async_trait;
use sqlx::error::DatabaseError;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::pool::PoolOptions;
use sqlx::{Connection, Database, Pool};
use tokio::sync::mpsc;

pub use query::{Columns, Exec, Stmt, q};

use crate::{Result, Store, StoreError};
pub(crate) use error::corrupt;

/// What differs between SQL backends. Implemented by `sqlx::Sqlite` and
/// `sqlx::Postgres`; the SQL it holds is static, filled in from the
/// templates below where only a clause differs.
pub trait Dialect: Exec + Database<Connection: Migrate> {
    /// A short name for logs and metrics: `sqlite`, `postgres`.
    const BACKEND: &'static str;
    /// Starts refresh rotation's transaction (SQLite: `BEGIN IMMEDIATE`,
    /// taking the write lock first).
    const BEGIN_ROTATION: &'static str;
    /// [`family_of_token!`] as rotation reads it (PostgreSQL: with
    /// `FOR UPDATE` on the token's and the family's rows).
    const TOKEN_FOR_ROTATION: &'static str;
    /// [`list_sessions!`] with the byte-order collation.
    const LIST_SESSIONS: &'static str;
    /// [`signing_keys!`] with the byte-order collation.
    const SIGNING_KEYS: &'static str;
    /// Inserts `$1` … `$5` (kid, alg, private, sealed, created_at) only if
    /// no current key exists, doing nothing when one does, even against a
    /// concurrent insert.
    const ADD_FIRST_KEY: &'static str;
    /// Run just before a transaction's revocation inserts (after its
    /// other statements, so after any row locks it takes).
    const LOCK_REVOCATIONS: Option<&'static str>;
    /// Run just after a transaction's revocation inserts.
    const ANNOUNCE_REVOCATIONS: Option<&'static str>;
    /// Run first in a key rotation.
    const LOCK_KEYS: Option<&'static str>;
    /// Whether refresh rotations share transactions and commits
    /// ([`refresh::Rotations`]): for a database with one writer, where a
    /// commit per rotation caps refresh at the disk's flush rate.
    const GROUP_ROTATIONS: bool;

    fn rows_affected(done: &Self::QueryResult) -> u64;
    /// A database error that is neither a unique nor a foreign-key
    /// violation, for `Unavailable`; never quoting a bound value.
    fn describe(e: &dyn DatabaseError) -> String;
    /// See [`Store::watch_revocations`]; nothing by default.
    fn watch_revocations(pool: &Pool<Self>, wake: mpsc::Sender<()>) {
        let _ = (pool, wake);
    }
}

/// The session columns (`s` is `sessions`), as a literal so that queries
/// stay `&'static str`.
macro_rules! session_columns {
    () => {
        "s.handle, s.user_id, s.created_at, s.last_seen_at, s.idle_expires_at, \
         s.absolute_expires_at, s.persistent, s.user_agent, s.ip, s.amr, s.auth_time"
    };
}

/// Unexpired sessions, of user `$1` or of all when `$1` is NULL, at `$2`,
/// newest first; ties in `$collate` (byte) order of the handle.
macro_rules! list_sessions {
    ($collate:literal) => {
        concat!(
            "SELECT ",
            $crate::sql::session_columns!(),
            " FROM sessions s WHERE (CAST($1 AS TEXT) IS NULL OR s.user_id = $1) \
             AND s.idle_expires_at > $2 AND s.absolute_expires_at > $2 \
             ORDER BY s.created_at DESC, s.handle",
            $collate
        )
    };
}

/// Every signing key, newest first, ties in `$collate` order of the kid.
macro_rules! signing_keys {
    ($collate:literal) => {
        concat!(
            "SELECT * FROM signing_keys ORDER BY created_at DESC, kid",
            $collate
        )
    };
}

/// Token `$1`, its family, and whether its successor has been spent.
macro_rules! family_of_token {
    () => {
        "SELECT f.id, f.user_id, f.created_at, f.expires_at, f.revoked_at, f.amr, f.auth_time, \
         f.kind, f.user_agent, f.ip, f.last_used_at, t.spent_at, t.successor_hash, n.spent_at AS successor_spent_at \
         FROM refresh_tokens t \
         JOIN refresh_families f ON f.id = t.family_id \
         LEFT JOIN refresh_tokens n ON n.hash = t.successor_hash WHERE t.hash = $1"
    };
}

pub(crate) use {family_of_token, list_sessions, session_columns, signing_keys};

/// A store on a SQL database: see the [module documentation](self).
pub struct SqlStore<D: Database> {
    pub(crate) pool: Pool<D>,
    rotations: std::sync::Arc<refresh::Rotations<D>>,
}

impl<D: Database> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            rotations: std::sync::Arc::clone(&self.rotations),
        }
    }
}

impl<D: Database> std::fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &D::NAME)
            .finish_non_exhaustive()
    }
}

type Tx<D> = sqlx::Transaction<'static, D>;

/// Maps an error of a statement with no unique rule of its own.
fn fail<D: Dialect>(e: sqlx::Error) -> StoreError {
    error::classify::<D>(e, "already exists")
}

impl<D: Dialect> SqlStore<D> {
    /// Closes the pool: waits for connections in use to come back, then
    /// ends every connection (SQLite: checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Connects a pool with `options`, then applies `migrator`.
    pub(crate) async fn connect(
        pool: PoolOptions<D>,
        options: <D::Connection as Connection>::Options,
        migrator: &Migrator,
    ) -> Result<Self> {
        let pool = pool
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        migrator
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        Ok(Self {
            pool,
            rotations: std::sync::Arc::default(),
        })
    }

    async fn begin(&self) -> Result<Tx<D>> {
        self.pool.begin().await.map_err(fail::<D>)
    }
}

async fn commit<D: Dialect>(tx: Tx<D>) -> Result<()> {
    tx.commit().await.map_err(fail::<D>)
}

#[async_trait]
impl<D: Dialect> Store for SqlStore<D> {
    async fn ping(&self) -> Result<()> {
        q("SELECT 1").execute(&self.pool).await.map(drop)
    }

    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn close(&self) {
        Self::close(self).await;
    }

    async fn watch_revocations(&self, wake: mpsc::Sender<()>) {
        D::watch_revocations(&self.pool, wake);
    }
}
