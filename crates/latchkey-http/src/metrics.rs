//! Prometheus metrics, held in the application state (no global registry).
//!
//! **Invariant:** every label value comes from a fixed set that no client
//! can extend: the method is one latchkey routes or `other`, the route is
//! the matched route template (or `unmatched`), the status a number, the
//! outcome and limit names are constants. So the registry, and a scrape,
//! stay the same size whatever clients send.

use axum::extract::MatchedPath;
use axum::http::Method;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
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
    pub method: &'static str,
    pub route: Route,
    pub status: u16,
}

/// The matched route template, as a label: the `MatchedPath` the router
/// set (an `Arc<str>` inside, so no copy per request), or `unmatched`.
#[derive(Clone, Debug)]
pub struct Route(pub Option<MatchedPath>);

impl Route {
    pub fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        encoder.write_str(self.as_str())
    }
}

/// A second-factor event: `method` is `totp`, `recovery_code` or `none`
/// (no code could be matched to one), `outcome` a constant.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MfaLabels {
    pub method: &'static str,
    pub outcome: &'static str,
}

/// A webhook delivery attempt: `webhook` is a configured webhook's name
/// (a fixed set, from configuration), `outcome` a constant.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub webhook: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: &'static str,
}

/// The method as a label: one latchkey routes, or `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub struct Metrics {
    registry: Registry,
    pub logins: Family<OutcomeLabels, Counter>,
    pub requests: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub active_sessions: Gauge<i64, std::sync::atomic::AtomicI64>,
    pub rate_limited: Family<LimitLabels, Counter>,
    pub mfa: Family<MfaLabels, Counter>,
    pub password_hashes_running: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// argon2id working memory kept between hashes.
    pub password_hash_memory: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Outbox deliveries: `sent`, `retry` (a failed try that will be
    /// tried again) and `failed` (given up).
    pub emails: Family<OutcomeLabels, Counter>,
    /// Webhook deliveries, by webhook and outcome: `sent`, `retry`,
    /// `failed`.
    pub webhooks: Family<WebhookLabels, Counter>,
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
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused by a per-address limit, by limit",
            rate_limited.clone(),
        );
        let mfa = Family::<MfaLabels, Counter>::default();
        registry.register(
            "mfa",
            "Second-factor successes and failures, by method and outcome",
            mfa.clone(),
        );
        let password_hashes_running = Gauge::default();
        registry.register(
            "password_hashes_running",
            "argon2id hashes running now (at most one per core)",
            password_hashes_running.clone(),
        );
        let password_hash_memory = Gauge::default();
        registry.register_with_unit(
            "password_hash_memory",
            "argon2id working memory kept between hashes (one 19 MiB block per hash that ran at once; dropped 10 to 20 s after the last)",
            prometheus_client::registry::Unit::Bytes,
            password_hash_memory.clone(),
        );
        let emails = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "emails",
            "E-mail delivery attempts by outcome (sent, retry, failed)",
            emails.clone(),
        );
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhooks",
            "Webhook delivery attempts by webhook and outcome (sent, retry, failed)",
            webhooks.clone(),
        );
        Self {
            registry,
            emails,
            webhooks,
            logins,
            requests,
            active_sessions,
            rate_limited,
            mfa,
            password_hashes_running,
            password_hash_memory,
        }
    }

    pub fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn mfa(&self, method: &'static str, outcome: &'static str) {
        self.mfa.get_or_create(&MfaLabels { method, outcome }).inc();
    }

    pub fn email(&self, outcome: &'static str) {
        self.emails.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn webhook(&self, webhook: &str, outcome: &'static str) {
        let labels = WebhookLabels {
            webhook: webhook.to_owned(),
            outcome,
        };
        self.webhooks.get_or_create(&labels).inc();
    }

    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited
            .get_or_create(&LimitLabels { limit })
            .inc();
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
