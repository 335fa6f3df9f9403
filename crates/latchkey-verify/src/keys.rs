//! The cached JWKS, and the rules for fetching it again.
//!
//! Readers take the current [`Keys`] (an `Arc`, so verification never holds
//! a lock). Fetches are serialised by one async mutex that also records the
//! time of the last attempt:
//!
//! * a caller that found no key for a token's `kid` waits for the mutex;
//!   if someone else loaded new keys meanwhile it retries with those
//!   (single flight: a burst of such tokens makes one request);
//! * otherwise it fetches only if the last attempt, successful or not, is
//!   at least `refetch_min_interval` away, so made-up `kid`s cost latchkey
//!   at most one request per interval;
//! * keys older than `jwks_max_age` are refreshed by the next caller that
//!   finds the mutex free; callers that find it busy go on with the cached
//!   keys rather than queue behind the fetch.
//!
//! A failed fetch keeps the cached keys: known keys go on verifying while
//! latchkey is unreachable.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use latchkey_tokens::Verifier;
use reqwest::Client;
use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::error::JwksError;
use crate::fetch;

/// One loaded JWKS.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    pub(crate) verifier: Verifier,
    /// Bumped by every successful load.
    pub(crate) generation: u64,
    /// When it was loaded; `None` until the first load.
    pub(crate) fetched_at: Option<i64>,
}

/// Whether a refetch must wait for a fetch already running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The caller cannot go on without new keys (unknown `kid`).
    Yes,
    /// The caller can go on with the cached keys (they are merely old).
    No,
}

pub(crate) struct KeyCache {
    current: RwLock<Arc<Keys>>,
    /// The time of the last fetch attempt.
    last_attempt: Mutex<Option<i64>>,
    jwks_url: String,
    timeout: Duration,
    min_interval: i64,
    max_age: i64,
}

impl KeyCache {
    pub(crate) fn new(
        jwks_url: String,
        timeout: Duration,
        min_interval: i64,
        max_age: i64,
    ) -> Self {
        Self {
            current: RwLock::new(Arc::new(Keys::default())),
            last_attempt: Mutex::new(None),
            jwks_url,
            timeout,
            min_interval,
            max_age,
        }
    }

    pub(crate) fn current(&self) -> Arc<Keys> {
        let keys = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&keys)
    }

    pub(crate) fn is_stale(&self, keys: &Keys, now: i64) -> bool {
        keys.fetched_at
            .is_some_and(|at| now.saturating_sub(at) >= self.max_age)
    }

    /// Newer keys than `seen`, fetching them if the rules above allow;
    /// otherwise the current keys (possibly `seen` itself).
    pub(crate) async fn refetch(
        &self,
        client: &Client,
        clock: &Clock,
        seen: &Keys,
        wait: Wait,
    ) -> Arc<Keys> {
        let mut last_attempt = match wait {
            Wait::Yes => self.last_attempt.lock().await,
            Wait::No => match self.last_attempt.try_lock() {
                Ok(guard) => guard,
                Err(_) => return self.current(),
            },
        };
        let current = self.current();
        if current.generation != seen.generation {
            return current;
        }
        // Read inside the lock, so waiters compare against the attempt
        // they waited for.
        let now = clock();
        let interval = if current.fetched_at.is_none() {
            self.min_interval.min(1)
        } else {
            self.min_interval
        };
        if last_attempt.is_some_and(|last| now.abs_diff(last) < interval.unsigned_abs()) {
            tracing::debug!("JWKS refetch skipped: rate limited");
            return current;
        }
        *last_attempt = Some(now);
        match self.load(client, now, current.generation).await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::warn!(%error, url = %self.jwks_url, "JWKS refetch failed; keeping cached keys");
                current
            }
        }
    }

    /// Fetches now, whatever the rate limit (the attempt still counts).
    pub(crate) async fn refresh(&self, client: &Client, clock: &Clock) -> Result<(), JwksError> {
        let mut last_attempt = self.last_attempt.lock().await;
        let now = clock();
        *last_attempt = Some(now);
        let generation = self.current().generation;
        self.load(client, now, generation).await.map(drop)
    }

    /// Fetches and installs the JWKS. Called with `last_attempt` held, so
    /// `generation` cannot change underneath.
    async fn load(
        &self,
        client: &Client,
        now: i64,
        generation: u64,
    ) -> Result<Arc<Keys>, JwksError> {
        let document = fetch::get_json(client, &self.jwks_url, self.timeout)
            .await
            .map_err(JwksError::Fetch)?;
        let verifier = Verifier::from_jwks(&document).map_err(JwksError::InvalidKeys)?;
        tracing::debug!(keys = verifier.len(), "JWKS loaded");
        let keys = Arc::new(Keys {
            verifier,
            generation: generation.wrapping_add(1),
            fetched_at: Some(now),
        });
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        *current = Arc::clone(&keys);
        Ok(keys)
    }
}
