//! Conformance cases: webhook deliveries, queued with their audit event.

use super::*;
use crate::email::{Delivery, MailState};
use crate::{AuditEvent, EventQuery, WebhookDelivery};

fn event(kind: &str, at_ms: i64, webhooks: &[&str]) -> AuditEvent {
    AuditEvent {
        id: 0,
        kind: kind.into(),
        at: t(at_ms),
        user_id: None,
        ip: Some("192.0.2.7".into()),
        user_agent: None,
        request_id: Some("req-1".into()),
        detail: r#"{"method":"pwd"}"#.into(),
        webhooks: webhooks.iter().map(|w| (*w).to_owned()).collect(),
    }
}

fn all_events() -> EventQuery<'static> {
    EventQuery {
        limit: 100,
        ..EventQuery::default()
    }
}

pub async fn webhooks_deliveries_are_queued_with_their_event_or_not_at_all(store: &dyn Store) {
    let id = store
        .record_event(&event("login.succeeded", 0, &["crm", "siem"]))
        .await
        .unwrap();
    let queued = store.webhook_deliveries(id).await.unwrap();
    let names: Vec<_> = queued.iter().map(|d| d.webhook.as_str()).collect();
    assert_eq!(names, ["crm", "siem"]);
    for d in &queued {
        assert_eq!((d.state, d.attempts), (MailState::Pending, 0));
        assert_eq!(d.next_attempt_at, t(0), "due at once");
        assert_eq!(d.event.id, id);
        assert_eq!(d.event.kind, "login.succeeded");
        assert_eq!(d.event.detail, r#"{"method":"pwd"}"#);
        assert!(d.event.webhooks.is_empty());
    }
    assert_ne!(queued[0].id, queued[1].id, "each delivery has its own id");
    // The second delivery's insert fails (one per event and webhook): the
    // event is not recorded either.
    let twice = store
        .record_event(&event("user.disabled", 1, &["crm", "crm"]))
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    let kinds: Vec<_> = store
        .events(all_events())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["login.succeeded"]);
    assert_eq!(store.webhook_counts().await.unwrap().pending, 2);
    // An event no webhook subscribes to queues nothing.
    let quiet = store.record_event(&event("login.failed", 2, &[])).await;
    assert!(
        store
            .webhook_deliveries(quiet.unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn webhooks_deliveries_are_claimed_once_under_a_lease(store: &dyn Store) {
    for at in [0, 10, 5_000] {
        store
            .record_event(&event("login.succeeded", at, &["crm"]))
            .await
            .unwrap();
    }
    // Four senders claim at once: each due delivery goes to exactly one.
    let claims = (0..4).map(|_| store.claim_webhooks(t(100), t(10_100), 10));
    let claimed: Vec<_> = futures_join_all(claims)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|d| d.attempts == 1));
    assert_ne!(claimed[0].id, claimed[1].id);
    // Leased: not due again until the lease ends (a sender that died) …
    let later = store.claim_webhooks(t(5_000), t(15_000), 10).await.unwrap();
    assert_eq!(later.len(), 1, "only the third, due at 5 s");
    // … and then claimed again, with the same delivery id.
    let mut again = store
        .claim_webhooks(t(10_100), t(20_000), 10)
        .await
        .unwrap();
    again.sort_by_key(|d| d.event.at);
    let mut first = claimed;
    first.sort_by_key(|d| d.event.at);
    let ids = |v: &[WebhookDelivery]| v.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&first));
    assert!(again.iter().all(|d| d.attempts == 2));
}

pub async fn webhooks_retries_wait_their_turn_and_failures_are_kept(store: &dyn Store) {
    let id = store
        .record_event(&event("user.disabled", 0, &["crm"]))
        .await
        .unwrap();
    let d = store.claim_webhooks(t(0), t(30_000), 1).await.unwrap();
    let delivery = d[0].id.clone();
    let retry = Delivery::Retry {
        next: t(5_000),
        error: "HTTP 500".into(),
    };
    store.finish_webhook(&delivery, &retry).await.unwrap();
    assert!(
        store
            .claim_webhooks(t(4_999), t(9_999), 1)
            .await
            .unwrap()
            .is_empty()
    );
    let d = store.claim_webhooks(t(5_000), t(35_000), 1).await.unwrap();
    assert_eq!(
        (d[0].attempts, d[0].last_error.as_deref()),
        (2, Some("HTTP 500"))
    );
    let failed = Delivery::Failed {
        at: t(6_000),
        error: "connection refused".into(),
    };
    store.finish_webhook(&delivery, &failed).await.unwrap();
    let d = &store.webhook_deliveries(id).await.unwrap()[0];
    assert_eq!(
        (d.state, d.last_error.as_deref()),
        (MailState::Failed, Some("connection refused"))
    );
    // Given up: never claimed again, and a late retry does not revive it.
    store.finish_webhook(&delivery, &retry).await.unwrap();
    assert!(
        store
            .claim_webhooks(t(99_000), t(999_000), 9)
            .await
            .unwrap()
            .is_empty()
    );
    let counts = store.webhook_counts().await.unwrap();
    assert_eq!((counts.pending, counts.sent, counts.failed), (0, 0, 1));
}

pub async fn webhooks_done_deliveries_are_swept_and_go_with_their_event(store: &dyn Store) {
    for at in [0, 1, 2] {
        store
            .record_event(&event("login.succeeded", at, &["crm"]))
            .await
            .unwrap();
    }
    let d = store.claim_webhooks(t(10), t(100), 2).await.unwrap();
    store
        .finish_webhook(&d[0].id, &Delivery::Sent { at: t(20) })
        .await
        .unwrap();
    let failed = Delivery::Failed {
        at: t(30),
        error: "HTTP 410".into(),
    };
    store.finish_webhook(&d[1].id, &failed).await.unwrap();
    assert_eq!(
        store.sweep_webhooks(t(20)).await.unwrap(),
        0,
        "kept until the cutoff"
    );
    assert_eq!(store.sweep_webhooks(t(31)).await.unwrap(), 2);
    let counts = store.webhook_counts().await.unwrap();
    assert_eq!((counts.pending, counts.sent, counts.failed), (1, 0, 0));
    // The pending one goes when retention sweeps its event.
    assert_eq!(store.sweep_events(t(3)).await.unwrap(), 3);
    assert_eq!(store.webhook_counts().await.unwrap().pending, 0);
}
