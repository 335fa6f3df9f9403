//! The connection to Redis: one auto-reconnecting multiplexed connection,
//! every call bounded in time, every failure counted and remembered (see
//! [`Health`]), key names under the configured prefix.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisResult};
use latchkey_core::{Clock, SessionSecretHash};

use super::health::{Health, Transition};
use crate::{Result, StoreError};

/// A Redis reply slower than this is an error.
pub(crate) const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);
/// A connection attempt slower than this fails.
pub(crate) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
/// The most any one Redis call (connecting included) may add to a request.
pub(crate) const CALL_BUDGET: Duration = Duration::from_millis(300);

pub(crate) struct Redis {
    manager: ConnectionManager,
    client: Client,
    prefix: String,
    pub(crate) health: Health,
    failures: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the prefix prints.
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Why a Redis call gave nothing: it failed, or Redis is being skipped.
#[derive(Debug)]
pub(crate) struct Skipped;

impl Redis {
    /// A lazy connection: nothing is sent until the first call, so a Redis
    /// that is down at start costs nothing but a log line later.
    pub(crate) fn new(
        url: &str,
        prefix: String,
        untrusted_for: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let client = Client::open(url).map_err(|_| {
            StoreError::Unavailable(
                "the Redis URL is not valid (redis://[user:password@]host[:port][/db])".into(),
            )
        })?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            // One attempt per reconnection; the next call after a failure
            // starts another.
            .set_number_of_retries(0);
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|_| StoreError::Unavailable("cannot set up the Redis connection".into()))?;
        Ok(Self {
            manager,
            client,
            prefix,
            health: Health::new(untrusted_for),
            failures: AtomicU64::new(0),
            clock,
        })
    }

    /// Monotonic now, for [`Health`].
    pub(crate) fn now(&self) -> Duration {
        self.clock.monotonic()
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Redis calls that failed or timed out since the connection was made.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Runs one call on the shared connection within [`CALL_BUDGET`];
    /// failures are logged, counted and fed to [`Health`].
    pub(crate) async fn call<T, F, Fut>(&self, what: &'static str, f: F) -> Result<T, Skipped>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let outcome = tokio::time::timeout(CALL_BUDGET, f(self.manager.clone())).await;
        let error = match outcome {
            Ok(Ok(value)) => {
                if self.health.succeeded() == Transition::CameBack {
                    tracing::info!("Redis answers again");
                }
                return Ok(value);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", CALL_BUDGET.as_millis()),
        };
        self.failures.fetch_add(1, Ordering::Relaxed);
        if self.health.failed(self.now()) == Transition::WentDown {
            tracing::warn!(
                error = %error,
                call = what,
                "Redis unavailable; serving from the durable store"
            );
        } else {
            tracing::debug!(error = %error, call = what, "Redis call failed");
        }
        Err(Skipped)
    }

    /// Like [`call`](Self::call), but not even tried while the circuit is
    /// open: for reads and counters, which have a durable fallback.
    pub(crate) async fn read<T, F, Fut>(&self, what: &'static str, f: F) -> Result<T, Skipped>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if !self.health.usable(self.now()) {
            return Err(Skipped);
        }
        self.call(what, f).await
    }

    // Key names. Everything lives under the prefix, so one SCAN finds it.

    pub(crate) fn session_key(&self, secret: &SessionSecretHash) -> String {
        self.session_key_hex(&hex(secret.as_bytes()))
    }

    pub(crate) fn session_key_hex(&self, secret_hex: &str) -> String {
        format!("{}sess:{secret_hex}", self.prefix)
    }

    /// The secret hash (hex) of a cached session, by handle.
    pub(crate) fn handle_key(&self, handle: &str) -> String {
        format!("{}shand:{handle}", self.prefix)
    }

    /// The secret hashes (hex) of a user's cached sessions.
    pub(crate) fn user_sessions_key(&self, user: &str) -> String {
        format!("{}usess:{user}", self.prefix)
    }

    /// Present for a while after a session ended by handle: no cache fill
    /// of that session may land.
    pub(crate) fn handle_tombstone(&self, handle: &str) -> String {
        format!("{}tomb:h:{handle}", self.prefix)
    }

    /// Present for a while after a user's sessions ended.
    pub(crate) fn user_tombstone(&self, user: &str) -> String {
        format!("{}tomb:u:{user}", self.prefix)
    }

    pub(crate) fn failure_key(&self, key: &str) -> String {
        format!("{}fail:{key}", self.prefix)
    }

    /// A sorted set of failure keys by window start, for the sweep.
    pub(crate) fn failure_index(&self) -> String {
        format!("{}fails", self.prefix)
    }

    pub(crate) fn revocation_channel(&self) -> String {
        format!("{}revocations", self.prefix)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Milliseconds for `PX`/`PEXPIRE`, at least 1.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
