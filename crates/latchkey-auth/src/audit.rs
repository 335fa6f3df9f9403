//! Security events: each is recorded in the store (the audit trail, read
//! by operators and shown to its user on the account page) and written as
//! one JSON log line (target `latchkey::audit`). A detail object names
//! what happened — a method, a flavour, a count, an admin key's id — and
//! never holds a secret.
//!
//! Recording never fails the request that caused it: an event the store
//! cannot take is still in the log, with an error beside it. Webhook
//! deliveries ([`Subscriptions`]) are queued with the event, in its
//! transaction, and sent later by the node's webhook sender: a request
//! never waits on a receiver.
//!
//! Where a request came from ([`Origin`]: address, user agent, request id)
//! is set once per request by the HTTP layer ([`ORIGIN`], a task-local
//! around the handler), so no use case has to carry it; events outside a
//! request (the CLI, background tasks) have none.

use std::sync::Arc;

use latchkey_core::UserId;
use latchkey_store::AuditEvent;
use tokio::sync::Notify;

use crate::service::AuthService;

/// The event types (API.md, "Operators: admin API and audit trail").
pub mod kind {
    pub const LOGIN_SUCCEEDED: &str = "login.succeeded";
    pub const LOGIN_FAILED: &str = "login.failed";
    pub const LOGIN_RATE_LIMITED: &str = "login.rate_limited";
    pub const MFA_ENROLLED: &str = "mfa.enrolled";
    pub const MFA_REMOVED: &str = "mfa.removed";
    pub const MFA_FAILED: &str = "mfa.failed";
    pub const PASSWORD_CHANGED: &str = "password.changed";
    pub const PASSWORD_RESET: &str = "password.reset";
    pub const SESSION_ENDED: &str = "session.ended";
    pub const TOKENS_REVOKED: &str = "tokens.revoked";
    pub const REFRESH_REUSE_DETECTED: &str = "refresh.reuse_detected";
    pub const USER_CREATED: &str = "admin.user_created";
    pub const USER_DISABLED: &str = "user.disabled";
    pub const USER_ENABLED: &str = "user.enabled";
    pub const USER_UPDATED: &str = "admin.user_updated";
    pub const USER_DELETED: &str = "admin.user_deleted";
    pub const SESSIONS_ENDED_BY_ADMIN: &str = "admin.sessions_ended";
    pub const MFA_RESET_BY_ADMIN: &str = "admin.mfa_reset";
    pub const KEYS_ROTATED: &str = "admin.keys_rotated";

    /// Every type above (webhook subscriptions are checked against it).
    pub const ALL: &[&str] = &[
        LOGIN_SUCCEEDED,
        LOGIN_FAILED,
        LOGIN_RATE_LIMITED,
        MFA_ENROLLED,
        MFA_REMOVED,
        MFA_FAILED,
        PASSWORD_CHANGED,
        PASSWORD_RESET,
        SESSION_ENDED,
        TOKENS_REVOKED,
        REFRESH_REUSE_DETECTED,
        USER_CREATED,
        USER_DISABLED,
        USER_ENABLED,
        USER_UPDATED,
        USER_DELETED,
        SESSIONS_ENDED_BY_ADMIN,
        MFA_RESET_BY_ADMIN,
        KEYS_ROTATED,
    ];
}

/// Which webhooks want which event types (`[[webhooks]]`): recording an
/// event queues a delivery to each webhook whose patterns match its type,
/// in the event's transaction, and wakes this node's webhook sender.
#[derive(Clone, Debug, Default)]
pub struct Subscriptions {
    /// Each webhook's name and patterns: a type, `*`, or `prefix.*`.
    hooks: Arc<[(String, Vec<String>)]>,
    wake: Arc<Notify>,
}

impl Subscriptions {
    pub fn new(hooks: Vec<(String, Vec<String>)>) -> Self {
        Self {
            hooks: hooks.into(),
            wake: Arc::default(),
        }
    }

    /// The names of the webhooks subscribed to `kind`, in configured order.
    pub fn matching(&self, kind: &str) -> Vec<String> {
        self.hooks
            .iter()
            .filter(|(_, patterns)| patterns.iter().any(|p| pattern_matches(p, kind)))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Notified when deliveries were queued on this node.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}

/// Whether an event type matches a subscription pattern: `*` (every
/// type), `prefix.*` (every type in `prefix.`) or the type itself.
pub fn pattern_matches(pattern: &str, kind: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) if prefix.ends_with('.') => kind.starts_with(prefix),
        Some(_) => false,
        None => pattern == kind,
    }
}

/// Where a request came from, as an event records it.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

tokio::task_local! {
    /// The origin of the request being served on this task.
    pub static ORIGIN: Origin;
}

/// Where the request being served on this task came from (nothing
/// outside a request).
pub fn current_origin() -> Origin {
    ORIGIN.try_with(Clone::clone).unwrap_or_default()
}

/// A user agent as recorded: at most 256 characters.
pub(crate) fn bounded(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|s| s.chars().take(256).collect())
}

impl AuthService {
    /// Records the event `kind` about `user`, from the request being
    /// served (if any).
    pub async fn audit(&self, kind: &'static str, user: Option<UserId>, detail: serde_json::Value) {
        let origin = current_origin();
        let event = AuditEvent {
            id: 0,
            kind: kind.to_owned(),
            at: self.clock.now(),
            user_id: user,
            ip: origin.ip.clone(),
            user_agent: bounded(&origin.user_agent),
            request_id: origin.request_id.clone(),
            detail: detail.to_string(),
            webhooks: self.webhooks.matching(kind),
        };
        tracing::info!(
            target: "latchkey::audit",
            event = kind,
            user_id = user.map(|u| u.to_string()).unwrap_or_default(),
            ip = event.ip.as_deref().unwrap_or_default(),
            request_id = event.request_id.as_deref().unwrap_or_default(),
            detail = %event.detail,
            "security event"
        );
        match self.store.record_event(&event).await {
            Ok(_) if !event.webhooks.is_empty() => self.webhooks.wake.notify_one(),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(event = kind, error = %e, "the audit trail did not take an event");
            }
        }
    }
}
