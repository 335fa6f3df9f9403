//! Password hashing off the async threads, under a bound.
//!
//! argon2id at OWASP parameters takes ~25 ms of CPU and 19 MiB of memory
//! per hash. Hashes run on the blocking pool, at most `concurrency` at
//! once (so memory is bounded and the async threads keep serving other
//! requests), with at most `max_waiting` queued behind them; beyond that
//! the caller gets `Overloaded` (503) at once instead of a growing queue.
//! Unknown users are verified against a dummy hash so that they cost the
//! same time as known ones.
//!
//! Each running hash works in a [`Scratch`] (argon2id's 19 MiB) taken from
//! those kept here, at most one per permit. They are kept while hashes
//! keep coming and dropped once none has run for [`KEEP_SCRATCH`]: a
//! fresh one costs as much CPU as the hash (its pages faulted in and
//! zeroed), a kept one costs memory only while logins arrive.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use latchkey_core::{Password, PasswordHash, Scratch};
use tokio::sync::Semaphore;

use crate::error::AuthError;
use crate::random;

#[derive(Clone)]
pub struct PasswordService(Arc<Inner>);

struct Inner {
    permits: Arc<Semaphore>,
    queued: AtomicUsize,
    max_queued: usize,
    permits_total: usize,
    /// Hashes running now (never above the number of permits).
    running: AtomicUsize,
    dummy: PasswordHash,
    kept: Mutex<Kept>,
    /// [`KEEP_SCRATCH`], shorter in tests.
    keep: Duration,
}

/// How long hashing memory is kept after the last hash ended (at least;
/// at most twice that).
pub const KEEP_SCRATCH: Duration = Duration::from_secs(10);

/// The scratches not in use, and whether a task will drop them.
#[derive(Default)]
struct Kept {
    idle: Vec<Scratch>,
    /// Hashes ended so far (how the dropper sees that one ended while it
    /// slept, without reading a clock).
    ended: u64,
    dropper: bool,
}

impl PasswordService {
    /// Builds the service and its dummy hash (one hash of a random
    /// password: ~25 ms, once, at start).
    pub fn new(concurrency: usize, max_waiting: usize) -> Result<Self, AuthError> {
        let concurrency = concurrency.max(1);
        let pw = Password::presented(hex(&random::<16>()?));
        let dummy = PasswordHash::compute(&pw, random()?);
        Ok(Self(Arc::new(Inner {
            permits: Arc::new(Semaphore::new(concurrency)),
            queued: AtomicUsize::new(0),
            max_queued: concurrency + max_waiting,
            permits_total: concurrency,
            running: AtomicUsize::new(0),
            dummy,
            kept: Mutex::default(),
            keep: KEEP_SCRATCH,
        })))
    }

    /// Hashes running at this moment (a gauge in `/metrics`).
    pub fn running(&self) -> usize {
        self.0.running.load(Ordering::SeqCst)
    }

    /// Verifies `password` against `hash`, or against the dummy hash when
    /// there is no user (the answer is then always `false`).
    pub async fn verify(
        &self,
        hash: Option<PasswordHash>,
        password: Password,
    ) -> Result<bool, AuthError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.0.dummy.clone());
        let ok = self
            .run(move |scratch| hash.verify_in(&password, scratch))
            .await?;
        Ok(known && ok)
    }

    /// Hashes a new password with a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, AuthError> {
        let salt = random::<16>()?;
        self.run(move |scratch| PasswordHash::compute_in(&password, salt, scratch))
            .await
    }

    /// Runs `work` on the blocking pool under the bound. The queue place
    /// and the permit move into the blocking task, so they are given back
    /// when the hash *ends*, not when the caller stops waiting: a client
    /// that disconnects mid-hash cannot make room for another hash while
    /// its own still runs. A caller dropped while queued (before it got a
    /// permit) never starts one.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Scratch) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let inner = &self.0;
        if inner.queued.fetch_add(1, Ordering::SeqCst) >= inner.max_queued {
            inner.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(AuthError::Overloaded);
        }
        let slot = QueueSlot(self.0.clone());
        let permit = inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AuthError::Internal("password semaphore closed".into()))?;
        // Started before the hash, so that a caller that goes away while
        // its hash runs still leaves the scratch to be dropped.
        self.drop_scratch_when_idle();
        let out = tokio::task::spawn_blocking(move || {
            let mut scratch = slot.0.take_scratch();
            let out = {
                let _running = Running::start(&slot.0.running);
                work(&mut scratch)
            };
            slot.0.give_back(scratch);
            drop(permit);
            drop(slot);
            out
        })
        .await
        .map_err(|e| AuthError::Internal(format!("password task failed: {e}")))?;
        // And after it, in case a long hash outlived that task.
        self.drop_scratch_when_idle();
        Ok(out)
    }

    /// Starts the task that drops the kept scratches once no hash has
    /// ended for a whole [`KEEP_SCRATCH`] (so they go between one and two
    /// of those after the last hash), unless one is already waiting to.
    /// The task ends with them; the next hash starts another.
    fn drop_scratch_when_idle(&self) {
        {
            let mut kept = self.0.lock_kept();
            if kept.dropper {
                return;
            }
            kept.dropper = true;
        }
        let inner = Arc::clone(&self.0);
        tokio::spawn(async move {
            loop {
                let ended = inner.lock_kept().ended;
                tokio::time::sleep(inner.keep).await;
                let mut kept = inner.lock_kept();
                if kept.ended == ended {
                    kept.idle.clear();
                    kept.dropper = false;
                    return;
                }
            }
        });
    }

    /// Bytes of hashing memory kept between hashes now.
    pub fn kept_bytes(&self) -> usize {
        let kept = self.0.lock_kept();
        kept.idle.iter().map(Scratch::len_bytes).sum()
    }
}

impl Inner {
    fn lock_kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_scratch(&self) -> Scratch {
        let mut kept = self.lock_kept();
        kept.idle.pop().unwrap_or_default()
    }

    fn give_back(&self, scratch: Scratch) {
        let mut kept = self.lock_kept();
        kept.ended = kept.ended.wrapping_add(1);
        // At most one per permit: a hash holds its scratch only while it
        // holds a permit, so this never keeps more than ran at once.
        if kept.idle.len() < self.permits_total {
            kept.idle.push(scratch);
        }
    }
}

/// A queue place, given back however the work ends: when the caller goes
/// away while waiting, or when its hash has finished.
struct QueueSlot(Arc<Inner>);

impl Drop for QueueSlot {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts one running hash for as long as it lives.
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn start(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for Running<'_> {
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
    async fn hashing_memory_is_reused_while_logins_come_and_dropped_when_they_stop() {
        let mut svc = PasswordService::new(2, 4).unwrap();
        // The dummy hash at start kept nothing.
        assert_eq!(svc.kept_bytes(), 0);
        Arc::get_mut(&mut svc.0).unwrap().keep = Duration::from_millis(300);
        let pw = || Password::presented("correct horse".into());
        let h = svc.hash(pw()).await.unwrap();
        assert_eq!(svc.kept_bytes(), 19456 * 1024, "one hash, one scratch kept");
        for _ in 0..3 {
            assert!(svc.verify(Some(h.clone()), pw()).await.unwrap());
        }
        // Sequential hashes reuse the one scratch instead of keeping more.
        assert_eq!(svc.kept_bytes(), 19456 * 1024);
        // Two at once need two, and never more than the permits.
        let (a, b, c) = tokio::join!(
            svc.verify(Some(h.clone()), pw()),
            svc.verify(Some(h.clone()), pw()),
            svc.verify(None, pw()),
        );
        assert!(a.unwrap() && b.unwrap() && !c.unwrap());
        assert!(svc.kept_bytes() <= 2 * 19456 * 1024);
        until(|| svc.kept_bytes() == 0).await;
        // And the next hash starts over.
        assert!(svc.verify(Some(h), pw()).await.unwrap());
        assert_eq!(svc.kept_bytes(), 19456 * 1024);
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
                Err(AuthError::Overloaded) => overloaded += 1,
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

    /// A closure that counts itself live, remembers the most ever live at
    /// once, and blocks until the gate opens.
    #[derive(Clone, Default)]
    struct Probe {
        live: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
        started: Arc<AtomicUsize>,
        gate: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    }

    impl Probe {
        fn work(&self) -> impl FnOnce(&mut Scratch) + Send + 'static {
            let p = self.clone();
            move |_: &mut Scratch| {
                p.started.fetch_add(1, Ordering::SeqCst);
                let now = p.live.fetch_add(1, Ordering::SeqCst) + 1;
                p.peak.fetch_max(now, Ordering::SeqCst);
                let (lock, cv) = &*p.gate;
                let mut open = lock.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
                p.live.fetch_sub(1, Ordering::SeqCst);
            }
        }

        fn open(&self) {
            let (lock, cv) = &*self.gate;
            *lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
            cv.notify_all();
        }
    }

    /// Opens the gate however the test ends, so that a failing assertion
    /// does not leave blocking threads (and the runtime's shutdown) waiting.
    struct OpenOnDrop(Probe);

    impl Drop for OpenOnDrop {
        fn drop(&mut self) {
            self.0.open();
        }
    }

    /// Polls `cond` (real time, bounded) while the runtime works.
    async fn until(cond: impl Fn() -> bool) {
        for _ in 0..500 {
            if cond() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("condition not reached");
    }

    #[tokio::test]
    async fn i9_02_dropped_requests_never_exceed_the_hashing_bound() {
        let svc = PasswordService::new(2, 8).unwrap();
        let probe = Probe::default();
        let _open = OpenOnDrop(probe.clone());
        let spawn = |n: usize| -> Vec<_> {
            (0..n)
                .map(|_| {
                    let (svc, work) = (svc.clone(), probe.work());
                    tokio::spawn(async move { svc.run(work).await })
                })
                .collect()
        };
        // Two hashes running; their clients go away.
        let first = spawn(2);
        until(|| probe.live.load(Ordering::SeqCst) == 2).await;
        for t in &first {
            t.abort();
        }
        for t in first {
            assert!(t.await.unwrap_err().is_cancelled());
        }
        // Four more arrive: they must wait for the abandoned hashes, which
        // still hold their slots (2 running + 4 queued).
        let second = spawn(4);
        let queued = || svc.0.queued.load(Ordering::SeqCst);
        until(|| queued() == 6 || probe.live.load(Ordering::SeqCst) > 2).await;
        assert!(
            probe.peak.load(Ordering::SeqCst) <= 2,
            "more hashes ran than permits"
        );
        // One queued request goes away before it starts: it never runs.
        second[0].abort();
        until(|| queued() == 5).await;
        probe.open();
        for t in second.into_iter().skip(1) {
            t.await.unwrap().unwrap();
        }
        // The abandoned hashes finish on their own threads, after their
        // callers are gone: wait for them to give their places back.
        until(|| queued() == 0 && svc.running() == 0).await;
        assert_eq!(probe.started.load(Ordering::SeqCst), 2 + 3);
        assert!(probe.peak.load(Ordering::SeqCst) <= 2);
    }
}
