//! The embedded SQLite backend: one file, WAL journal, `synchronous=FULL`
//! so that an acknowledged write survives a crash of the process or the
//! machine. Migrations are compiled into the binary and applied at open.
//!
//! The queries are the SQL layer's (`sql/`); this is SQLite's dialect.
//! SQLite serialises writers with one file lock, so the only concurrency
//! rule stated here is that refresh rotation takes that lock first
//! (`BEGIN IMMEDIATE`).

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::error::DatabaseError;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};

use crate::sql::{Dialect, SqlStore, family_of_token, list_sessions, signing_keys};
use crate::{Result, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite store.
pub type SqliteStore = SqlStore<Sqlite>;

impl Dialect for Sqlite {
    const BACKEND: &'static str = "sqlite";
    // IMMEDIATE takes the write lock first, so two refreshes of one token
    // serialise here instead of both reading "unspent".
    const BEGIN_ROTATION: &'static str = "BEGIN IMMEDIATE";
    const TOKEN_FOR_ROTATION: &'static str = family_of_token!();
    // BINARY, SQLite's default, is byte order.
    const LIST_SESSIONS: &'static str = list_sessions!("");
    const SIGNING_KEYS: &'static str = signing_keys!("");
    // One writer at a time: the NOT EXISTS sees any committed current key.
    const ADD_FIRST_KEY: &'static str = "INSERT INTO signing_keys \
         (kid, alg, private, sealed, created_at) SELECT $1, $2, $3, $4, $5 \
         WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)";
    const LOCK_REVOCATIONS: Option<&'static str> = None;
    const ANNOUNCE_REVOCATIONS: Option<&'static str> = None;
    const LOCK_KEYS: Option<&'static str> = None;
    const GROUP_ROTATIONS: bool = true;

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    /// SQLite's messages name constraints and columns, never values.
    fn describe(e: &dyn DatabaseError) -> String {
        format!(
            "sqlite error {}: {}",
            e.code().unwrap_or_default(),
            e.message()
        )
    }
}

impl SqlStore<Sqlite> {
    /// Opens (creating if missing) the database at `url`
    /// (`sqlite://path` or `sqlite::memory:`) and applies migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5));
        Self::connect(pool, options, &MIGRATOR).await
    }
}
