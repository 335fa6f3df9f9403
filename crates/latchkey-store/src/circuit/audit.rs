//! Audit calls through [`Circuit::call`].

use latchkey_core::Timestamp;

use super::Circuit;
use crate::Result;
use crate::audit::{Audit, AuditEvent, EventQuery};

delegate! {
    impl[] Audit for Circuit, via call {
        pass {
            fn record_event(&self, event: &AuditEvent) -> Result<i64>;
            fn events(&self, query: EventQuery<'_>) -> Result<Vec<AuditEvent>>;
            fn sweep_events(&self, before: Timestamp) -> Result<u64>;
        }
    }
}
