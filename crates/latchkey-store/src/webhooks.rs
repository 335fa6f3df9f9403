//! Webhook deliveries: the outbox of audit events waiting to be POSTed to
//! the webhooks that subscribe to their type.
//!
//! **Invariant:** a delivery row is written in the transaction that writes
//! its audit event (one per webhook named in [`AuditEvent::webhooks`]), so
//! an event is recorded with its deliveries or not at all. A pending row
//! is claimed by one sender at a time, under a lease, exactly as an e-mail
//! in the [`Outbox`](crate::Outbox) is (the same statements, on another
//! table); its id is the delivery id receivers de-duplicate by.

use async_trait::async_trait;
use latchkey_core::Timestamp;

use crate::email::{Delivery, MailState, OutboxCounts};
use crate::{AuditEvent, Result};

/// One event on its way to one webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The delivery id (`Latchkey-Webhook-Id`): the same on every try.
    pub id: String,
    /// The webhook's configured name.
    pub webhook: String,
    /// The event, as recorded (its `webhooks` empty).
    pub event: AuditEvent,
    /// Tries so far (a claim counts one).
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    /// `Sent` once a receiver answered 2xx.
    pub state: MailState,
    /// Why the last try failed; never a secret.
    pub last_error: Option<String>,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait WebhookOutbox: Send + Sync {
    /// Claims up to `limit` pending deliveries due at `now`, as
    /// [`Outbox::claim_mail`](crate::Outbox::claim_mail) claims messages.
    async fn claim_webhooks(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>>;
    /// Records what became of a claimed delivery.
    async fn finish_webhook(&self, id: &str, delivery: &Delivery) -> Result<()>;
    /// The deliveries of one event, by webhook name.
    async fn webhook_deliveries(&self, event_id: i64) -> Result<Vec<WebhookDelivery>>;
    async fn webhook_counts(&self) -> Result<OutboxCounts>;
    /// Deletes delivered and failed rows finished before `cutoff`.
    async fn sweep_webhooks(&self, cutoff: Timestamp) -> Result<u64>;
}
