//! The PostgreSQL backend, for several nodes sharing one database. The
//! same tables as SQLite (`migrations/postgres/`, compiled in and applied
//! at open under sqlx's migration lock, so nodes starting together migrate
//! once), the same queries (the SQL layer's, `sql/`), the same conformance
//! suite. This is PostgreSQL's dialect.
//!
//! Where SQLite serialises writers with one file lock, this dialect states
//! each concurrency rule in SQL: refresh rotation locks the presented
//! token's row (`SELECT … FOR UPDATE`), a failure is counted by one upsert,
//! the first signing key is guarded by a partial unique index, and
//! revocation writers take a table lock so that `seq` order is commit order.
//! Transactions run at PostgreSQL's default `READ COMMITTED`.
//!
//! Every statement has a time limit (`statement_timeout`, 5 s unless the
//! URL sets one), so a stuck lock surfaces as [`StoreError::Unavailable`]
//! instead of a hung request.

mod listen;

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::error::DatabaseError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult};

use crate::sql::{Dialect, SqlStore, family_of_token, list_sessions, signing_keys};
use crate::{Result, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per node. PostgreSQL's default `max_connections` is 100:
/// size the server for `nodes × 16` plus room for administration.
const MAX_CONNECTIONS: u32 = 16;
/// How long a caller waits for a free connection, and the default limit
/// on any one statement.
const TIMEOUT: Duration = Duration::from_secs(5);
const STATEMENT_TIMEOUT: &str = "5s";

/// The channel name, as a literal for `concat!`.
macro_rules! revocation_channel {
    () => {
        "latchkey_revocations"
    };
}

/// The LISTEN/NOTIFY channel on which committed revocations are announced.
pub const REVOCATION_CHANNEL: &str = revocation_channel!();

/// The PostgreSQL store.
pub type PgStore = SqlStore<Postgres>;

impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";
    const BEGIN_ROTATION: &'static str = "BEGIN";
    // FOR UPDATE locks the token's row and its family's row until commit,
    // so two refreshes of one token (on any connections or nodes)
    // serialise here: the second waits, then reads the row as the first
    // left it ("spent") instead of both reading "unspent". Holding the
    // family row also orders rotation against a concurrent revocation of
    // the family. The successor's row (outer-joined, for "has the successor
    // been used?") is read, not locked: a rotation of the successor racing
    // this read is ordered after it, which is a serial order too.
    const TOKEN_FOR_ROTATION: &'static str = concat!(family_of_token!(), " FOR UPDATE OF t, f");
    // COLLATE "C": ties break in byte order, as on SQLite.
    const LIST_SESSIONS: &'static str = list_sessions!(" COLLATE \"C\"");
    const SIGNING_KEYS: &'static str = signing_keys!(" COLLATE \"C\"");
    // `signing_keys_one_current` admits one unretired key: of two nodes
    // inserting at once, the second waits for the first to commit and then
    // does nothing. (A clash on `kid` is still an error.)
    const ADD_FIRST_KEY: &'static str = "INSERT INTO signing_keys \
         (kid, alg, private, sealed, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT ((true)) WHERE retired_at IS NULL DO NOTHING";
    // With concurrent writers an identity column alone is not a safe
    // cursor: `seq` is drawn at INSERT but becomes visible at COMMIT, so
    // transaction A could draw 7, B draw 8 and commit, a reader see 8 and
    // move its cursor past 7, and then A commit — entry 7 would never reach
    // that reader's denylist. So every writer first takes a lock on the
    // table that conflicts with itself and holds it to commit: writers of
    // the log take turns, `seq` order is commit order, and a reader that
    // has seen `seq` n has seen everything below it. Readers (plain
    // SELECTs) are not blocked. The lock is taken last in each transaction,
    // after any row locks, and nothing waits while holding it but the
    // commit, so it cannot take part in a deadlock; it does limit the log
    // to one writing transaction at a time, which is ample for logouts,
    // password changes and revocations. (Migration 0002 points here by
    // this note's former home, `postgres/tokens.rs`.)
    const LOCK_REVOCATIONS: Option<&'static str> =
        Some("LOCK TABLE revocations IN SHARE ROW EXCLUSIVE MODE");
    // Delivered to every listening node when (and only if) this commits.
    const ANNOUNCE_REVOCATIONS: Option<&'static str> =
        Some(concat!("NOTIFY ", revocation_channel!()));
    // Rotations take turns (the lock conflicts with itself and with every
    // write), so a second rotation's UPDATE sees and retires the key the
    // first one stored, as on SQLite.
    const LOCK_KEYS: Option<&'static str> =
        Some("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE");
    // Rotations lock their own rows; many commit at once.
    const GROUP_ROTATIONS: bool = false;

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    /// PostgreSQL puts the offending row in an error's DETAIL (never shown
    /// here), but the primary message of a data exception (SQLSTATE class
    /// `22`, e.g. `invalid input syntax for type bigint: "…"`) quotes the
    /// value itself; for that class only the code is kept.
    fn describe(e: &dyn DatabaseError) -> String {
        let code = e.code().unwrap_or_default();
        if code.starts_with("22") {
            format!("postgres error {code}")
        } else {
            format!("postgres error {code}: {}", e.message())
        }
    }

    fn watch_revocations(pool: &PgPool, wake: tokio::sync::mpsc::Sender<()>) {
        listen::spawn(pool.clone(), wake);
    }
}

impl SqlStore<Postgres> {
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
            .acquire_timeout(TIMEOUT);
        Self::connect(pool, options, &MIGRATOR).await
    }
}
