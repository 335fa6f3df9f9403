//! Conformance cases: the audit trail.

use super::*;
use crate::{AuditEvent, EventQuery};

fn event(kind: &str, user: Option<&User>, at_ms: i64) -> AuditEvent {
    AuditEvent {
        id: 0,
        kind: kind.into(),
        at: t(at_ms),
        user_id: user.map(|u| u.id),
        ip: Some("192.0.2.7".into()),
        user_agent: Some("conformance/1.0".into()),
        request_id: Some("req-1".into()),
        detail: r#"{"method":"pwd"}"#.into(),
    }
}

pub async fn audit_events_are_read_by_user_type_and_position(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let mut ids = Vec::new();
    for (kind, who, at) in [
        ("login.succeeded", Some(&alice), 0),
        ("login.failed", Some(&bob), 1),
        ("login.failed", None, 2),
        ("user.disabled", Some(&alice), 3),
    ] {
        ids.push(store.record_event(&event(kind, who, at)).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let all = store
        .events(EventQuery {
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all[0],
        AuditEvent {
            id: ids[0],
            ..event("login.succeeded", Some(&alice), 0)
        }
    );
    let of_alice = store
        .events(EventQuery {
            user: Some(alice.id),
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    let kinds: Vec<_> = of_alice.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["login.succeeded", "user.disabled"]);
    let failed = store
        .events(EventQuery {
            kind: Some("login.failed"),
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 2);
    let page = store
        .events(EventQuery {
            after: Some(ids[1]),
            limit: 1,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[2]]);
    let newest = store
        .events(EventQuery {
            newest_first: true,
            limit: 2,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        newest.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[3], ids[2]]
    );
    // A user's events outlive the user.
    store.delete_user(alice.id, at(5)).await.unwrap();
    let kept = store
        .events(EventQuery {
            user: Some(alice.id),
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(kept.len(), 2);
}

pub async fn audit_events_are_swept_after_retention(store: &dyn Store) {
    for at in [0, 10, 20] {
        store
            .record_event(&event("login.failed", None, at))
            .await
            .unwrap();
    }
    assert_eq!(store.sweep_events(t(15)).await.unwrap(), 2);
    let left = store
        .events(EventQuery {
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(left.iter().map(|e| e.at).collect::<Vec<_>>(), [t(20)]);
}
