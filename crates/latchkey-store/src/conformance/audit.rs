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
        webhooks: Vec::new(),
    }
}

/// Four events, for alice, bob and nobody; their ids in order.
async fn four_events(store: &dyn Store) -> (User, Vec<i64>) {
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
    (alice, ids)
}

fn query(limit: u32) -> EventQuery<'static> {
    EventQuery {
        limit,
        ..EventQuery::default()
    }
}

pub async fn audit_events_are_read_by_user_type_and_position(store: &dyn Store) {
    let (alice, ids) = four_events(store).await;
    let all = store.events(query(10)).await.unwrap();
    assert_eq!(all.len(), 4);
    let first = AuditEvent {
        id: ids[0],
        ..event("login.succeeded", Some(&alice), 0)
    };
    assert_eq!(all[0], first);
    let of_alice = EventQuery {
        user: Some(alice.id),
        ..query(10)
    };
    let kinds: Vec<_> = store
        .events(of_alice)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["login.succeeded", "user.disabled"]);
    let failed = EventQuery {
        kind: Some("login.failed"),
        ..query(10)
    };
    assert_eq!(store.events(failed).await.unwrap().len(), 2);
    let page = EventQuery {
        after: Some(ids[1]),
        ..query(1)
    };
    let page: Vec<_> = store
        .events(page)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(page, [ids[2]]);
}

pub async fn audit_events_are_read_newest_first_and_outlive_their_user(store: &dyn Store) {
    let (alice, ids) = four_events(store).await;
    let newest = EventQuery {
        newest_first: true,
        ..query(2)
    };
    let newest: Vec<_> = store
        .events(newest)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(newest, [ids[3], ids[2]]);
    store.delete_user(alice.id, at(5)).await.unwrap();
    let of_alice = EventQuery {
        user: Some(alice.id),
        ..query(10)
    };
    assert_eq!(store.events(of_alice).await.unwrap().len(), 2);
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
