//! A node's background tasks: the sweeper, the revocation poll and the
//! key reload (the e-mail sender is `mailer`'s, the webhook sender
//! `webhooks`').

use std::time::Duration;

use latchkey_auth::keyring::{self, KeyPolicy};
use latchkey_http::AppState;

use crate::app::{KEY_RELOAD, MAIL_KEPT, REVOCATION_POLL, SWEEP_INTERVAL, WEBHOOKS_KEPT};

pub(crate) async fn sweep_forever(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tick.tick().await;
        let now = state.clock.now();
        match state.store().sweep_expired_sessions(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "swept expired sessions"),
            Err(e) => tracing::warn!(error = %e, "session sweep failed"),
        }
        // Failure windows and per-address request windows share the
        // store's counters: keep every one until its own window has ended.
        let longest = state
            .settings
            .login_limits
            .window
            .max(state.settings.address_limits.longest_window())
            .max(
                state
                    .settings
                    .email
                    .as_ref()
                    .map_or(Duration::ZERO, |e| e.limit.window),
            );
        let cutoff = now.saturating_sub(longest);
        let store = state.store();
        let swept = [
            ("login failures", store.sweep_failures(cutoff).await),
            ("refresh families", store.sweep_families(now).await),
            ("revocations", store.prune_revocations(now).await),
            ("signing keys", store.delete_expired_keys(now).await),
            ("pending logins", store.sweep_pending_logins(now).await),
            ("WebAuthn ceremonies", store.sweep_ceremonies(now).await),
            (
                "audit events",
                store
                    .sweep_events(now.saturating_sub(state.settings.audit_retention))
                    .await,
            ),
            ("provider sign-ins", store.sweep_federation(now).await),
            ("e-mail tokens", store.sweep_email_tokens(now).await),
            (
                "sent e-mail",
                store.sweep_mail(now.saturating_sub(MAIL_KEPT)).await,
            ),
            (
                "webhook deliveries",
                store
                    .sweep_webhooks(now.saturating_sub(WEBHOOKS_KEPT))
                    .await,
            ),
        ];
        for (what, result) in swept {
            if let Err(e) = result {
                tracing::warn!(error = %e, what, "sweep failed");
            }
        }
        state.prune_denylist();
    }
}

/// Reads revocations recorded elsewhere (the CLI, other nodes) into this
/// node's denylist: at once when the store announces them (PostgreSQL
/// LISTEN/NOTIFY), and every second in any case.
pub(crate) async fn poll_revocations(state: AppState, mut cursor: i64) {
    let (wake_tx, mut wake) = tokio::sync::mpsc::channel(16);
    state.store().watch_revocations(wake_tx).await;
    let mut tick = tokio::time::interval(REVOCATION_POLL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some(()) = wake.recv() => {}
        }
        match state
            .store()
            .revocations_since(cursor, state.clock.now())
            .await
        {
            Ok((entries, next)) => {
                state.deny(&entries);
                state.denylist_synced();
                cursor = next;
            }
            Err(e) => tracing::warn!(error = %e, "revocation poll failed"),
        }
    }
}

/// Picks up key rotations made by the CLI or another node, and lets
/// retired keys leave the set when their tokens have expired.
pub(crate) async fn reload_keys(state: AppState, policy: KeyPolicy) {
    let mut tick = tokio::time::interval(KEY_RELOAD);
    tick.tick().await;
    loop {
        tick.tick().await;
        match keyring::load(state.store().as_ref(), &policy, state.clock.now()).await {
            Ok(keys) => state.tokens.replace_keys(keys),
            Err(e) => tracing::warn!(error = %e, "signing-key reload failed"),
        }
    }
}
