//! Conformance cases: the audit trail.

use super::*;
use crate::{AuditEvent, Ended, EventQuery};

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

/// What the trail holds of `kind`, oldest first.
async fn of_kind(store: &dyn Store, kind: &str) -> Vec<AuditEvent> {
    let q = EventQuery {
        kind: Some(kind),
        ..query(10)
    };
    store.events(q).await.unwrap()
}

pub async fn audit_an_event_recorded_with_a_change_is_there_exactly_when_the_change_is(
    store: &dyn Store,
) {
    let alice = user(store, "alice", 1).await;
    session(store, &alice, 1, 2).await;
    // The description sees what the change ended.
    let disabled = |ended: &Ended| {
        let mut e = event("user.disabled", Some(&alice), 3);
        e.detail = format!(r#"{{"sessions_ended":{}}}"#, ended.sessions.len());
        Some(e)
    };
    let ended = store
        .set_user_disabled(alice.id, true, at(3).recording(&disabled))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.sessions.len(), 1);
    let recorded = of_kind(store, "user.disabled").await;
    assert_eq!(recorded.len(), 1, "one event, with its change");
    assert_eq!(recorded[0].detail, r#"{"sessions_ended":1}"#);
    assert_eq!(recorded[0].ip.as_deref(), Some("192.0.2.7"));
    // A change that does not happen (the user is gone) leaves no event,
    // although the description was asked inside its transaction.
    let deleted = |_: &Ended| Some(event("admin.user_deleted", Some(&alice), 4));
    let nobody = user(store, "bob", 4).await;
    store.delete_user(nobody.id, at(4)).await.unwrap();
    let gone = store
        .delete_user(nobody.id, at(5).recording(&deleted))
        .await
        .unwrap();
    assert!(gone.is_none());
    assert!(of_kind(store, "admin.user_deleted").await.is_empty());
    // A description that declines records nothing; the change still happens.
    let none = |_: &Ended| None;
    let ended = store
        .end_user_sessions(alice.id, Keep::default(), at(6).recording(&none), true)
        .await
        .unwrap();
    assert!(ended.revocations.iter().any(|r| r.at == t(6)));
    assert_eq!(store.events(query(10)).await.unwrap().len(), 1);
}
