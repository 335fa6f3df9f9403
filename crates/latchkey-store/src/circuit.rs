//! [`Circuit`]: a circuit breaker in front of the durable store, so that a
//! store that does not answer (a blackholed database) costs one short probe
//! per interval rather than a full timeout per request.
//!
//! * **Closed** (the store answers): calls pass through. When one fails as
//!   `Unavailable`, a probe (`ping`, bounded by `probe_timeout`) tells a
//!   dead store from one failed statement; only a failed probe opens the
//!   circuit.
//! * **Open** (the store is known to be down): every call fails at once
//!   with `Unavailable` (`503 store_unavailable`), so a load balancer drains
//!   the node promptly. Every `retry_interval`, the first call probes
//!   again; success closes the circuit, failure keeps it open.
//! * `ping` (for `/readyz`) always answers within `probe_timeout`, and
//!   opens or closes the circuit by its outcome.
//! * Every call is bounded by [`CALL_TIMEOUT`]: a statement sent on a
//!   connection whose peer vanished would otherwise wait for TCP to give up
//!   (minutes). A call cut off this way is `Unavailable` (its transaction,
//!   if any, is rolled back when the dropped connection closes).
//!
//! Times are operational: the clock's monotonic reading
//! ([`Clock::monotonic`]), never its wall time, so tests move it exactly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_core::Clock;

use crate::{Result, Store, StoreError};

mod admin;
mod audit;
mod delegate;
mod email;
mod federation;
mod groups;
mod passkeys;

/// The most one store call may take, pool wait included. Above
/// PostgreSQL's 5 s pool and statement timeouts, so those answer first.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How the circuit probes the store.
#[derive(Clone, Copy, Debug)]
pub struct CircuitSettings {
    /// The most a health probe (`ping`, `/readyz`) may take.
    pub probe_timeout: Duration,
    /// While the store is known to be down, calls fail at once; one probe
    /// is let through this often.
    pub retry_interval: Duration,
}

impl Default for CircuitSettings {
    fn default() -> Self {
        Self {
            probe_timeout: Duration::from_millis(500),
            retry_interval: Duration::from_secs(1),
        }
    }
}

/// See the module documentation.
pub struct Circuit {
    inner: Arc<dyn Store>,
    settings: CircuitSettings,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Open: calls fail at once before this; the first after it probes.
    open_until: Option<Duration>,
    /// A probe is running: other calls do not start another.
    probing: bool,
}

/// What a call may do now.
#[derive(Debug, PartialEq, Eq)]
enum Gate {
    Pass,
    Probe,
    Refuse,
}

impl Circuit {
    /// A circuit in front of `inner`, timing its retries by `clock`'s
    /// monotonic reading.
    pub fn new(inner: Arc<dyn Store>, settings: CircuitSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            settings,
            clock,
            state: Mutex::new(State::default()),
        }
    }

    fn monotonic_now(&self) -> Duration {
        self.clock.monotonic()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn gate(&self, now: Duration) -> Gate {
        let mut s = self.lock();
        match s.open_until {
            None => Gate::Pass,
            Some(until) if now < until || s.probing => Gate::Refuse,
            Some(_) => {
                s.probing = true;
                Gate::Probe
            }
        }
    }

    fn refused() -> StoreError {
        StoreError::Unavailable("the store is down (failing fast until a probe succeeds)".into())
    }

    /// Pings the store within the probe timeout and records the outcome.
    async fn probe(&self) -> Result<()> {
        let outcome =
            match tokio::time::timeout(self.settings.probe_timeout, self.inner.ping()).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Unavailable(format!(
                    "no answer within the probe timeout ({:?})",
                    self.settings.probe_timeout
                ))),
            };
        let mut s = self.lock();
        s.probing = false;
        match &outcome {
            Ok(()) => {
                if s.open_until.take().is_some() {
                    tracing::info!("the store answers again: circuit closed");
                }
            }
            Err(e) => {
                if s.open_until.is_none() {
                    tracing::warn!(
                        error = %e,
                        retry_every = ?self.settings.retry_interval,
                        "the store is down: failing fast, probing again periodically"
                    );
                }
                s.open_until = Some(self.monotonic_now() + self.settings.retry_interval);
            }
        }
        outcome
    }

    /// Runs one store call through the circuit.
    async fn call<T>(&self, op: impl Future<Output = Result<T>>) -> Result<T> {
        match self.gate(self.monotonic_now()) {
            Gate::Pass => {}
            Gate::Refuse => return Err(Self::refused()),
            Gate::Probe => self.probe().await?,
        }
        let result = match tokio::time::timeout(CALL_TIMEOUT, op).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer within {CALL_TIMEOUT:?}"
            ))),
        };
        if matches!(result, Err(StoreError::Unavailable(_))) && self.claim_check() {
            let _ = self.probe().await;
        }
        result
    }

    /// Whether this caller should probe after a failed call: not when the
    /// circuit is already open or another probe runs.
    fn claim_check(&self) -> bool {
        let mut s = self.lock();
        if s.open_until.is_some() || s.probing {
            return false;
        }
        s.probing = true;
        true
    }

    /// For `/readyz`: fails at once while open (between probes), otherwise
    /// probes within the probe timeout.
    async fn checked_ping(&self) -> Result<()> {
        match self.gate(self.monotonic_now()) {
            Gate::Refuse => Err(Self::refused()),
            Gate::Pass | Gate::Probe => self.probe().await,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn memory() -> Arc<dyn Store> {
        crate::open("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn an_open_circuit_refuses_until_the_retry_time_then_probes_once() {
        let clock = Arc::new(latchkey_core::ManualClock::new(
            latchkey_core::Timestamp::from_unix_millis(0),
        ));
        let c = Circuit::new(memory().await, CircuitSettings::default(), clock.clone());
        let t0 = clock.monotonic();
        assert_eq!(c.gate(t0), Gate::Pass);
        c.lock().open_until = Some(t0 + Duration::from_secs(1));
        assert_eq!(c.gate(t0), Gate::Refuse);
        let later = t0 + Duration::from_secs(2);
        assert_eq!(c.gate(later), Gate::Probe);
        assert_eq!(c.gate(later), Gate::Refuse, "one probe at a time");
        // The store answers: the probe closes the circuit.
        c.probe().await.unwrap();
        assert_eq!(c.gate(later), Gate::Pass);
    }
}
