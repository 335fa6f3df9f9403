//! The webhook sender: POSTs queued audit events to the webhooks that
//! subscribe to them (`[[webhooks]]`), signed, from the store's delivery
//! outbox, with the loop and retry schedule every outbox shares
//! (`crate::outbox`).
//!
//! Each node runs one. It claims due deliveries under a lease, POSTs each
//! (10 s timeout, redirects not followed), and records the outcome: a 2xx
//! answer is delivered; anything else, or no answer, is retried after the
//! back-off and recorded as failed after `max_attempts`. Delivery is at
//! least once: a receiver de-duplicates by `Latchkey-Webhook-Id`, the same
//! on every try. Logs and `last_error` name the webhook, the delivery and
//! the error, never the secret, the signature or the URL's query.
//!
//! A request is signed as `Latchkey-Signature: v1=<hex HMAC-SHA256(secret,
//! "<Latchkey-Timestamp>.<body>")>`, the timestamp being this try's Unix
//! seconds, so a receiver can refuse a replay outside its window.

use std::error::Error as _;
use std::time::Duration;

use aws_lc_rs::hmac;
use latchkey_http::AppState;
use latchkey_store::{AuditEvent, WebhookDelivery};
use secrecy::{ExposeSecret, SecretString};

use crate::outbox::Retries;

/// One `[[webhooks]]` table, checked.
#[derive(Clone)]
pub struct Webhook {
    /// Unique; in metrics, logs and the payload.
    pub name: String,
    pub url: String,
    /// Event types, `prefix.*` or `*`.
    pub events: Vec<String>,
    /// The signing secret (at least 32 bytes).
    pub secret: SecretString,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url", &without_query(&self.url))
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// `[[webhooks]]` and `[webhook_delivery]`.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub hooks: Vec<Webhook>,
    pub retries: Retries,
    /// One POST, connecting included.
    pub timeout: Duration,
    /// How often the outbox is read when nothing woke the sender.
    pub poll_interval: Duration,
}

/// Deliveries claimed per read: one, so a claim's lease covers one POST.
const BATCH: u32 = 1;
/// Beyond the POST's own timeout, how long a claim stays leased.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

pub const ID_HEADER: &str = "Latchkey-Webhook-Id";
pub const TIMESTAMP_HEADER: &str = "Latchkey-Timestamp";
pub const SIGNATURE_HEADER: &str = "Latchkey-Signature";

/// `v1=` and the hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// The body of a delivery: the event as `GET /admin/v1/events` lists it,
/// and the webhook's name.
pub fn payload(webhook: &str, e: &AuditEvent) -> Vec<u8> {
    let mut body = crate::events_cli::event_json(e);
    body["webhook"] = webhook.into();
    body.to_string().into_bytes()
}

/// The sender, when webhooks are configured.
pub fn spawn(
    state: &AppState,
    settings: Option<WebhookSettings>,
) -> Option<tokio::task::JoinHandle<()>> {
    let settings = settings.filter(|s| !s.hooks.is_empty())?;
    Some(tokio::spawn(run(state.clone(), settings)))
}

/// Sends due deliveries until the task is aborted.
pub async fn run(state: AppState, settings: WebhookSettings) {
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook sender not started");
            return;
        }
    };
    let wake = state.settings.webhooks.wake();
    let poll = settings.poll_interval;
    crate::outbox::drain_forever(poll, wake, BATCH, || send_due(&state, &settings, &client)).await;
}

/// Claims and sends one batch; how many were claimed.
async fn send_due(
    state: &AppState,
    s: &WebhookSettings,
    client: &reqwest::Client,
) -> Result<usize, ()> {
    let now = state.clock.now();
    let lease = now.saturating_add(s.timeout + LEASE_MARGIN);
    let claimed = match state.store().claim_webhooks(now, lease, BATCH).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "webhook outbox read failed");
            return Err(());
        }
    };
    for delivery in &claimed {
        let outcome = match s.hooks.iter().find(|h| h.name == delivery.webhook) {
            Some(hook) => post(state, client, hook, delivery).await,
            None => Err(format!(
                "no webhook named {} is configured",
                delivery.webhook
            )),
        };
        let done = s
            .retries
            .decide(delivery.attempts, outcome, state.clock.now());
        record(state, delivery, &done).await;
    }
    Ok(claimed.len())
}

async fn post(
    state: &AppState,
    client: &reqwest::Client,
    hook: &Webhook,
    d: &WebhookDelivery,
) -> Result<(), String> {
    let body = payload(&hook.name, &d.event);
    let timestamp = state.clock.now().unix_seconds();
    let signed = signature(hook.secret.expose_secret().as_bytes(), timestamp, &body);
    let sent = client
        .post(&hook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "latchkey-webhooks")
        .header(ID_HEADER, &d.id)
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signed)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Err(describe(&e)),
    }
}

/// A transport error without the URL (its query may hold a token).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut out = if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
    .to_owned();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

async fn record(state: &AppState, d: &WebhookDelivery, done: &latchkey_store::Delivery) {
    use latchkey_store::Delivery;
    let (webhook, delivery_id, event) = (&d.webhook, &d.id, &d.event.kind);
    match done {
        Delivery::Sent { .. } => {
            state.metrics.webhook(webhook, "sent");
            tracing::info!(%webhook, %delivery_id, %event, attempts = d.attempts, "webhook delivered");
        }
        Delivery::Retry { error, .. } => {
            state.metrics.webhook(webhook, "retry");
            tracing::warn!(%webhook, %delivery_id, %event, attempts = d.attempts, %error, "webhook not delivered; will retry");
        }
        Delivery::Failed { error, .. } => {
            state.metrics.webhook(webhook, "failed");
            tracing::error!(%webhook, %delivery_id, %event, attempts = d.attempts, %error, "webhook failed; giving up");
        }
    }
    if let Err(e) = state.store().finish_webhook(&d.id, done).await {
        // The lease runs out and the delivery is tried again.
        tracing::warn!(%webhook, %delivery_id, error = %e, "webhook outbox update failed");
    }
}

/// A URL up to its query, for logs.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // Computed independently (Python's hmac module).
        let body = br#"{"type":"login.succeeded"}"#;
        assert_eq!(
            signature(&[b'k'; 32], 1_700_000_000, body),
            "v1=7b6790bf3050bf4425d52e9d1e94c963a94b1ea61db4878bbe5bcc019f9c645c"
        );
    }

    #[test]
    fn logs_show_a_url_without_its_query() {
        let hook = Webhook {
            name: "crm".into(),
            url: "https://crm.example.com/hook?token=abc".into(),
            events: vec!["*".into()],
            secret: SecretString::from("s".repeat(32)),
        };
        let shown = format!("{hook:?}");
        assert!(!shown.contains("abc") && !shown.contains("sss"), "{shown}");
    }
}
