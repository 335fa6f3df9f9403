//! The audit trail: security events, each with its time, user, client
//! address, user agent, request id and a small detail object (never a
//! secret), read back by user, type and position, and swept after the
//! retention period.

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use crate::Result;

/// One event. `id` orders events (and is the listing's cursor); it is 0
/// in an event not yet recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: i64,
    /// `login.succeeded`, `user.disabled`, … (see API.md).
    pub kind: String,
    pub at: Timestamp,
    pub user_id: Option<UserId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// A JSON object.
    pub detail: String,
    /// The webhooks subscribed to this event's type, by name: recording
    /// the event queues one delivery to each, in the same transaction.
    /// Empty in an event read back.
    pub webhooks: Vec<String>,
}

/// Which events to read.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventQuery<'a> {
    pub user: Option<UserId>,
    pub kind: Option<&'a str>,
    /// Only events after this id (oldest first), or, with `newest_first`,
    /// before it.
    pub after: Option<i64>,
    pub newest_first: bool,
    pub limit: u32,
}

#[async_trait]
pub trait Audit: Send + Sync {
    /// Records `event` (its `id` is ignored) and, in the same transaction,
    /// a pending delivery to each of its `webhooks`; returns the id given.
    async fn record_event(&self, event: &AuditEvent) -> Result<i64>;
    async fn events(&self, query: EventQuery<'_>) -> Result<Vec<AuditEvent>>;
    /// Deletes events older than `before` (and any delivery of them still
    /// queued); returns how many.
    async fn sweep_events(&self, before: Timestamp) -> Result<u64>;
}
