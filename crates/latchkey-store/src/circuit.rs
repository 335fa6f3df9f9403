//! A circuit breaker in front of a store.

use std::time::Duration;

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
