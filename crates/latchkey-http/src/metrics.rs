//! Prometheus metrics, held in the application state (no global registry).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

pub struct Metrics {
    registry: Registry,
    pub logins: Family<OutcomeLabels, Counter>,
    pub requests: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub active_sessions: Gauge<i64, std::sync::atomic::AtomicI64>,
}

fn latency_histogram() -> Histogram {
    // 100 µs … ~6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("latchkey");
        let logins = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "login_attempts",
            "Login attempts by outcome",
            logins.clone(),
        );
        let requests =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            requests.clone(),
        );
        let active_sessions = Gauge::default();
        registry.register(
            "active_sessions",
            "Sessions neither idle-expired nor past their absolute limit",
            active_sessions.clone(),
        );
        Self {
            registry,
            logins,
            requests,
            active_sessions,
        }
    }

    pub fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
