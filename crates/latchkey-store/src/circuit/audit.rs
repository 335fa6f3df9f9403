//! Audit calls through [`Circuit::call`].

use latchkey_core::Timestamp;

use super::Circuit;
use crate::Result;
use crate::audit::{Audit, AuditEvent, EventQuery};
use crate::email::{Delivery, OutboxCounts};
use crate::webhooks::{WebhookDelivery, WebhookOutbox};

delegate! {
    impl[] Audit for Circuit, via call {
        pass {
            fn record_event(&self, event: &AuditEvent) -> Result<i64>;
            fn events(&self, query: EventQuery<'_>) -> Result<Vec<AuditEvent>>;
            fn sweep_events(&self, before: Timestamp) -> Result<u64>;
        }
    }
}

delegate! {
    impl[] WebhookOutbox for Circuit, via call {
        pass {
            fn claim_webhooks(
                &self,
                now: Timestamp,
                lease_until: Timestamp,
                limit: u32,
            ) -> Result<Vec<WebhookDelivery>>;
            fn finish_webhook(&self, id: &str, delivery: &Delivery) -> Result<()>;
            fn webhook_deliveries(&self, event_id: i64) -> Result<Vec<WebhookDelivery>>;
            fn webhook_counts(&self) -> Result<OutboxCounts>;
            fn sweep_webhooks(&self, cutoff: Timestamp) -> Result<u64>;
        }
    }
}
