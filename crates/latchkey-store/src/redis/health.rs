//! What this node currently believes about Redis: whether to try it at all
//! (a short circuit breaker, so a dead Redis costs one timeout a second
//! rather than one per request), and whether its session cache may be
//! read (not after this node failed to invalidate an entry).
//!
//! Times are monotonic readings (`Clock::monotonic`) passed in, so the
//! rules are tested exactly; this is operational time (timeouts,
//! back-off), never wall-clock time.

use std::sync::Mutex;
use std::time::Duration;

/// After a failed Redis call, reads skip Redis for this long.
pub(crate) const CIRCUIT_OPEN_FOR: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct State {
    /// Redis is not tried for reads before this.
    down_until: Option<Duration>,
    /// The session cache is not read before this.
    untrusted_until: Option<Duration>,
    /// Whether the last call failed (to log the transitions only).
    down: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Health {
    state: Mutex<State>,
    /// How long the cache stays untrusted after a failed invalidation.
    untrusted_for: Duration,
}

/// A change worth a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    None,
    WentDown,
    CameBack,
}

impl Health {
    pub(crate) fn new(untrusted_for: Duration) -> Self {
        Self {
            state: Mutex::new(State::default()),
            untrusted_for,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether reads (cache, counters) should try Redis at `now`.
    pub(crate) fn usable(&self, now: Duration) -> bool {
        self.lock().down_until.is_none_or(|t| now >= t)
    }

    /// Whether a cached session may be served at `now`: Redis is usable and
    /// no invalidation by this node has failed in the last `untrusted_for`.
    pub(crate) fn cache_trusted(&self, now: Duration) -> bool {
        let s = self.lock();
        s.down_until.is_none_or(|t| now >= t) && s.untrusted_until.is_none_or(|t| now >= t)
    }

    /// A Redis call failed at `now`.
    pub(crate) fn failed(&self, now: Duration) -> Transition {
        let mut s = self.lock();
        s.down_until = Some(now + CIRCUIT_OPEN_FOR);
        if std::mem::replace(&mut s.down, true) {
            Transition::None
        } else {
            Transition::WentDown
        }
    }

    /// A Redis call succeeded.
    pub(crate) fn succeeded(&self) -> Transition {
        let mut s = self.lock();
        if std::mem::replace(&mut s.down, false) {
            Transition::CameBack
        } else {
            Transition::None
        }
    }

    /// Invalidating a cache entry failed at `now`: the entry may still be
    /// in Redis, stale, until its TTL runs out. Stop reading the cache
    /// until then (extending any earlier period).
    pub(crate) fn invalidation_failed(&self, now: Duration) -> Transition {
        let until = now + self.untrusted_for;
        let transition = self.failed(now);
        let mut s = self.lock();
        s.untrusted_until = Some(s.untrusted_until.map_or(until, |t| t.max(until)));
        transition
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNTRUSTED: Duration = Duration::from_secs(65);

    #[test]
    fn a_failed_call_skips_redis_for_a_second_then_tries_again() {
        let h = Health::new(UNTRUSTED);
        let t0 = Duration::from_secs(1_000);
        assert!(h.usable(t0) && h.cache_trusted(t0));
        assert_eq!(h.failed(t0), Transition::WentDown);
        assert_eq!(h.failed(t0), Transition::None);
        assert!(!h.usable(t0 + CIRCUIT_OPEN_FOR - Duration::from_millis(1)));
        assert!(!h.cache_trusted(t0));
        assert!(h.usable(t0 + CIRCUIT_OPEN_FOR));
        assert!(h.cache_trusted(t0 + CIRCUIT_OPEN_FOR));
        assert_eq!(h.succeeded(), Transition::CameBack);
        assert_eq!(h.succeeded(), Transition::None);
    }

    #[test]
    fn a_failed_invalidation_distrusts_the_cache_until_every_entry_has_expired() {
        let h = Health::new(UNTRUSTED);
        let t0 = Duration::from_secs(1_000);
        h.invalidation_failed(t0);
        // Redis itself may be tried again soon (counters, fills elsewhere)…
        assert!(h.usable(t0 + CIRCUIT_OPEN_FOR));
        // …but this node reads no cached session until the entry it failed
        // to delete must have expired.
        assert!(!h.cache_trusted(t0 + CIRCUIT_OPEN_FOR));
        assert!(!h.cache_trusted(t0 + UNTRUSTED - Duration::from_millis(1)));
        assert!(h.cache_trusted(t0 + UNTRUSTED));
        // A later failure extends the period; an earlier one never shortens it.
        let t1 = t0 + Duration::from_secs(30);
        h.invalidation_failed(t1);
        assert!(!h.cache_trusted(t0 + UNTRUSTED));
        assert!(h.cache_trusted(t1 + UNTRUSTED));
    }
}
