//! Security events: each is recorded in the store (the audit trail, read
//! by operators and shown to its user on the account page) and written as
//! one JSON log line (target `latchkey::audit`). A detail object names
//! what happened — a method, a flavour, a count, an admin key's id — and
//! never holds a secret.
//!
//! Recording never fails the request that caused it: an event the store
//! cannot take is still in the log, with an error beside it.
//!
//! Where a request came from ([`Origin`]: address, user agent, request id)
//! is set once per request by the HTTP layer ([`ORIGIN`], a task-local
//! around the handler), so no use case has to carry it; events outside a
//! request (the CLI, background tasks) have none.

use latchkey_core::UserId;
use latchkey_store::AuditEvent;

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
        if let Err(e) = self.store.record_event(&event).await {
            tracing::error!(event = kind, error = %e, "the audit trail did not take an event");
        }
    }
}
