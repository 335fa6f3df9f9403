//! Webhook deliveries: queued with their event (`audit::insert_event`),
//! drained with the outbox statements every queue shares.

use async_trait::async_trait;
use latchkey_core::Timestamp;

use super::audit::event_from_row;
use super::outbox::{WEBHOOKS, state};
use super::{Columns, Dialect, SqlStore, corrupt, q};
use crate::Result;
use crate::email::{Delivery, OutboxCounts};
use crate::webhooks::{WebhookDelivery, WebhookOutbox};

/// A delivery's columns (`id` renamed) and its event's.
macro_rules! with_event {
    ($where:literal) => {
        concat!(
            "SELECT d.id AS delivery_id, d.webhook, d.attempts, d.next_attempt_at, d.state, \
             d.last_error, d.created_at, e.* \
             FROM webhook_deliveries d JOIN audit_events e ON e.id = d.event_id ",
            $where
        )
    };
}

fn delivery_from_row(row: &impl Columns) -> Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: row.text("delivery_id")?,
        webhook: row.text("webhook")?,
        event: event_from_row(row)?,
        attempts: u32::try_from(row.int("attempts")?).map_err(corrupt)?,
        next_attempt_at: row.at("next_attempt_at")?,
        state: state(row)?,
        last_error: row.opt_text("last_error")?,
        created_at: row.at("created_at")?,
    })
}

#[async_trait]
impl<D: Dialect> WebhookOutbox for SqlStore<D> {
    async fn claim_webhooks(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        let rows = WEBHOOKS.claim(&self.pool, now, lease_until, limit).await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            // Leased to this sender now: read with its event. (An event
            // swept meanwhile takes its deliveries with it.)
            let found = q(with_event!("WHERE d.id = $1"))
                .bind(row.text("id")?.as_str())
                .fetch_optional(&self.pool)
                .await?;
            if let Some(found) = found {
                claimed.push(delivery_from_row(&found)?);
            }
        }
        Ok(claimed)
    }

    async fn finish_webhook(&self, id: &str, delivery: &Delivery) -> Result<()> {
        WEBHOOKS
            .finish(id, delivery)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn webhook_deliveries(&self, event_id: i64) -> Result<Vec<WebhookDelivery>> {
        q(with_event!(
            "WHERE d.event_id = $1 ORDER BY d.webhook, d.id"
        ))
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery_from_row)
        .collect()
    }

    async fn webhook_counts(&self) -> Result<OutboxCounts> {
        WEBHOOKS.counts(&self.pool).await
    }

    async fn sweep_webhooks(&self, cutoff: Timestamp) -> Result<u64> {
        WEBHOOKS.sweep(&self.pool, cutoff).await
    }
}
