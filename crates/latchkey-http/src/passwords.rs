//! Password hashing off the async threads, under a bound.
//!
//! argon2id at OWASP parameters takes ~25 ms of CPU and 19 MiB of memory
//! per hash. Hashes run on the blocking pool, at most `concurrency` at
//! once (so memory is bounded and the async threads keep serving other
//! requests), with at most `max_waiting` queued behind them; beyond that
//! the caller gets `Overloaded` (503) at once instead of a growing queue.
//! Unknown users are verified against a dummy hash so that they cost the
//! same time as known ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use latchkey_core::{Password, PasswordHash};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::random::random;

#[derive(Clone)]
pub struct PasswordService(Arc<Inner>);

struct Inner {
    permits: Semaphore,
    queued: AtomicUsize,
    max_queued: usize,
    dummy: PasswordHash,
}

impl PasswordService {
    /// Builds the service and its dummy hash (one hash of a random
    /// password: ~25 ms, once, at start).
    pub fn new(concurrency: usize, max_waiting: usize) -> Result<Self, ApiError> {
        let concurrency = concurrency.max(1);
        let pw = Password::presented(hex(&random::<16>()?));
        let dummy = PasswordHash::compute(&pw, random()?);
        Ok(Self(Arc::new(Inner {
            permits: Semaphore::new(concurrency),
            queued: AtomicUsize::new(0),
            max_queued: concurrency + max_waiting,
            dummy,
        })))
    }

    /// Verifies `password` against `hash`, or against the dummy hash when
    /// there is no user (the answer is then always `false`).
    pub async fn verify(
        &self,
        hash: Option<PasswordHash>,
        password: Password,
    ) -> Result<bool, ApiError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.0.dummy.clone());
        let ok = self.run(move || hash.verify(&password)).await?;
        Ok(known && ok)
    }

    /// Hashes a new password with a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, ApiError> {
        let salt = random::<16>()?;
        self.run(move || PasswordHash::compute(&password, salt))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let inner = &self.0;
        if inner.queued.fetch_add(1, Ordering::SeqCst) >= inner.max_queued {
            inner.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Overloaded);
        }
        let _slot = QueueSlot(&inner.queued);
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::Internal("password semaphore closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| ApiError::Internal(format!("password task failed: {e}")))
    }
}

/// Gives back a queue place however the request ends (even if the client
/// goes away while waiting).
struct QueueSlot<'a>(&'a AtomicUsize);

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_users_never_verify() {
        let svc = PasswordService::new(1, 4).unwrap();
        let pw = Password::presented("whatever-password".into());
        assert!(!svc.verify(None, pw).await.unwrap());
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let svc = PasswordService::new(2, 4).unwrap();
        let h = svc
            .hash(Password::presented("correct horse".into()))
            .await
            .unwrap();
        assert!(
            svc.verify(Some(h.clone()), Password::presented("correct horse".into()))
                .await
                .unwrap()
        );
        assert!(
            !svc.verify(Some(h), Password::presented("wrong horse".into()))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_flood_beyond_the_queue_is_refused_not_queued() {
        let svc = PasswordService::new(1, 2).unwrap();
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let svc = svc.clone();
                tokio::spawn(
                    async move { svc.verify(None, Password::presented("x".repeat(10))).await },
                )
            })
            .collect();
        let mut overloaded = 0;
        let mut done = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => done += 1,
                Err(ApiError::Overloaded) => overloaded += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(overloaded > 0, "some were refused");
        assert!(done >= 3, "the bounded queue was served");
        // Once the flood is over, places are free again.
        assert!(
            svc.verify(None, Password::presented("y".repeat(10)))
                .await
                .is_ok()
        );
    }
}
