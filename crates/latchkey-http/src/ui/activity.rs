//! The account page's "Recent security activity": the user's own latest
//! security events (sign-ins, failed attempts, factor and password
//! changes), with when, from which address and device.

use latchkey_core::Timestamp;
use latchkey_store::AuditEvent;
use maud::{Markup, html};

use super::pages::{ago, device};

/// How many events the card shows.
pub const SHOWN: u32 = 10;

/// An event type as people read it.
fn describe(e: &AuditEvent) -> String {
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
    let method = detail["method"].as_str().unwrap_or_default();
    match e.kind.as_str() {
        "login.succeeded" => "Signed in".into(),
        "login.failed" if method == "passkey" => "A passkey sign-in failed".into(),
        "login.failed" => "A sign-in with a wrong password".into(),
        "login.rate_limited" => "Sign-ins paused after too many attempts".into(),
        "mfa.failed" => "A wrong two-step code".into(),
        "mfa.enrolled" if method == "webauthn" => "Passkey added".into(),
        "mfa.enrolled" if method == "recovery_code" => "New recovery codes made".into(),
        "mfa.enrolled" => "Two-step sign-in turned on".into(),
        "mfa.removed" if method == "webauthn" => "Passkey deleted".into(),
        "mfa.removed" => "Two-step sign-in turned off".into(),
        "password.changed" => "Password changed".into(),
        "session.ended" => "Signed out".into(),
        "refresh.reuse_detected" => "A reused sign-in token was refused".into(),
        "user.disabled" => "Account disabled by an administrator".into(),
        "user.enabled" => "Account enabled by an administrator".into(),
        other => other.replace(['.', '_'], " "),
    }
}

pub fn card(events: &[AuditEvent], now: Timestamp) -> Markup {
    html! {
    div.card #activity {
        h2 { "Recent security activity" }
        @if events.is_empty() {
            p.muted { "Nothing yet." }
        } @else {
            table {
                thead { tr { th { "What" } th { "When" } th { "Address" } th { "Device" } } }
                tbody {
                    @for e in events {
                        tr {
                            td { (describe(e)) }
                            td title=(e.at.to_rfc3339()) { (ago(now, e.at)) }
                            td { (e.ip.as_deref().unwrap_or("-")) }
                            td { (device(e.user_agent.as_deref())) }
                        }
                    }
                }
            }
        }
    }
    }
}
