//! The audit trail goes to the durable store alone.

use latchkey_core::Timestamp;

use super::RedisCached;
use crate::Result;
use crate::audit::{Audit, AuditEvent, EventQuery};

wrap! {
    impl Audit {
        pass {
            fn record_event(&self, event: &AuditEvent) -> Result<i64>;
            fn events(&self, query: EventQuery<'_>) -> Result<Vec<AuditEvent>>;
            fn sweep_events(&self, before: Timestamp) -> Result<u64>;
        }
    }
}
