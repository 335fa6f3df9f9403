//! Security events: each is recorded in the store (the audit trail, read
//! by operators and shown to its user on the account page) and written as
//! one JSON log line (target `latchkey::audit`). A detail object names
//! what happened — a method, a flavour, a count, an admin key's id — and
//! never holds a secret.
//!
//! An event that describes a change ending sessions or tokens (disabling
//! or deleting a user, a password change or reset, a sign-out, second
//! factors removed by an operator) is written in that change's own
//! transaction ([`AuthService::describe`]): it is in the trail exactly
//! when the change is. Other events are recorded on their own, after what
//! they describe ([`AuthService::audit`]); recording them never fails the
//! request that caused them: an event the store cannot take is still in
//! the log, with an error beside it. Webhook deliveries
//! ([`Subscriptions`]) are queued with the event, in its transaction, and
//! sent later by the node's webhook sender: a request never waits on a
//! receiver.
//!
//! Where a request came from ([`Origin`]: address, user agent, request id)
//! is set once per request by the HTTP layer ([`ORIGIN`], a task-local
//! around the handler), so no use case has to carry it; events outside a
//! request (the CLI, background tasks) have none.

use std::sync::Arc;

use latchkey_core::UserId;
use latchkey_store::{AuditEvent, Describe, Ended};
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
    /// Kept as an address: rendered only when an event is recorded.
    pub ip: Option<std::net::IpAddr>,
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

/// The event `kind` about `user`, at `at`, from `origin`.
fn event(
    kind: &'static str,
    at: latchkey_core::Timestamp,
    user: Option<UserId>,
    origin: &Origin,
    detail: &serde_json::Value,
    webhooks: Vec<String>,
) -> AuditEvent {
    AuditEvent {
        id: 0,
        kind: kind.to_owned(),
        at,
        user_id: user,
        ip: origin.ip.map(|ip| ip.to_string()),
        user_agent: bounded(&origin.user_agent),
        request_id: origin.request_id.clone(),
        detail: detail.to_string(),
        webhooks,
    }
}

/// An operator's change made outside any request (the CLI): the event a
/// [`RevokeAt`](latchkey_store::RevokeAt) records with it, its detail
/// saying `"via": "cli"`, queued for the `webhooks` subscribed to it (a
/// running server's sender delivers them).
pub fn cli_event(
    kind: &'static str,
    at: latchkey_core::Timestamp,
    user: UserId,
    mut detail: serde_json::Value,
    webhooks: &Subscriptions,
) -> AuditEvent {
    if let Some(map) = detail.as_object_mut() {
        map.insert("via".into(), "cli".into());
    }
    let hooks = webhooks.matching(kind);
    event(kind, at, Some(user), &Origin::default(), &detail, hooks)
}

/// The detail of an event about a change that ended sessions: how many
/// sessions and refresh families it ended.
pub fn ended_counts(ended: &Ended) -> serde_json::Value {
    serde_json::json!({
        "sessions_ended": ended.sessions.len(),
        "families_revoked": ended.families.len(),
    })
}

/// The event's JSON log line (target `latchkey::audit`).
fn log_event(event: &AuditEvent) {
    tracing::info!(
        target: "latchkey::audit",
        event = event.kind.as_str(),
        user_id = event.user_id.map(|u| u.to_string()).unwrap_or_default(),
        ip = event.ip.as_deref().unwrap_or_default(),
        request_id = event.request_id.as_deref().unwrap_or_default(),
        detail = %event.detail,
        "security event"
    );
}

impl AuthService {
    /// Records the event `kind` about `user`, from the request being
    /// served (if any), on its own: for what changes nothing (a failed
    /// sign-in) or what changes no session.
    pub async fn audit(&self, kind: &'static str, user: Option<UserId>, detail: serde_json::Value) {
        let webhooks = self.webhooks.matching(kind);
        let event = event(
            kind,
            self.clock.now(),
            user,
            &current_origin(),
            &detail,
            webhooks,
        );
        log_event(&event);
        match self.store.record_event(&event).await {
            Ok(_) => self.queued(&event),
            Err(e) => {
                tracing::error!(event = kind, error = %e, "the audit trail did not take an event");
            }
        }
    }

    /// The event `kind` about `user` for a change that ends sessions or
    /// tokens, written in that change's own transaction
    /// ([`RevokeAt::recording`](latchkey_store::RevokeAt::recording)): the
    /// trail holds it exactly when the change happened. `detail` builds
    /// its detail from what the change ended, or `None` to record nothing.
    /// Once the change returns, [`log_change`](Self::log_change) writes its
    /// log line.
    pub(crate) fn describe<F>(
        &self,
        kind: &'static str,
        user: Option<UserId>,
        detail: F,
    ) -> impl Fn(&Ended) -> Option<AuditEvent> + Send + Sync + use<F>
    where
        F: Fn(&Ended) -> Option<serde_json::Value> + Send + Sync,
    {
        let origin = current_origin();
        let at = self.clock.now();
        let hooks = self.webhooks.matching(kind);
        move |ended| detail(ended).map(|d| event(kind, at, user, &origin, &d, hooks.clone()))
    }

    /// After a change committed: the log line of the event `describe`
    /// wrote in its transaction (see [`describe`](Self::describe)), and
    /// this node's webhook sender woken for its deliveries.
    pub(crate) fn log_change(&self, describe: Describe<'_>, ended: &Ended) {
        if let Some(event) = describe(ended) {
            log_event(&event);
            self.queued(&event);
        }
    }

    /// Wakes this node's webhook sender when `event` queued deliveries.
    fn queued(&self, event: &AuditEvent) {
        if !event.webhooks.is_empty() {
            self.webhooks.wake.notify_one();
        }
    }
}
