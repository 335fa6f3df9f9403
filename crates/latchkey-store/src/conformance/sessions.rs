//! Conformance cases: sessions, and ending them.

use super::*;

pub async fn sessions_are_found_by_secret_hash_only(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, s) = session(store, &alice, 10, 0).await;
    let (found, name) = store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, s);
    assert_eq!(name, alice.username);
    let unknown = SessionSecret::from_random([77; 32]);
    assert!(
        store
            .session_by_secret(&unknown.hash())
            .await
            .unwrap()
            .is_none()
    );
    // The same secret cannot be stored twice.
    let again = policy().start(
        SessionHandle::from_random([55; 16]),
        alice.id,
        t(0),
        false,
        None,
        None,
    );
    assert!(matches!(
        store.create_session(&secret.hash(), &again).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn session_for_unknown_user_is_refused(store: &dyn Store) {
    let s = policy().start(
        SessionHandle::from_random([1; 16]),
        UserId::from_random(seed(42)),
        t(0),
        false,
        None,
        None,
    );
    let secret = SessionSecret::from_random([1; 32]);
    assert!(matches!(
        store.create_session(&secret.hash(), &s).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store
            .session_by_secret(&secret.hash())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn touch_moves_last_seen_forward_only(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, _) = session(store, &alice, 10, 0).await;
    store
        .touch_session(&secret.hash(), t(5 * 60_000), t(35 * 60_000))
        .await
        .unwrap();
    // A late, older touch (another node) must not move it back.
    store
        .touch_session(&secret.hash(), t(2 * 60_000), t(32 * 60_000))
        .await
        .unwrap();
    let (s, _) = store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.last_seen_at, t(5 * 60_000));
    assert_eq!(s.idle_expires_at, t(35 * 60_000));
    assert_eq!(s.created_at, t(0));
}

pub async fn logout_deletes_by_secret_and_records_the_sid(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, s) = session(store, &alice, 10, 0).await;
    let ended = store
        .delete_session_by_secret(&secret.hash(), at(5))
        .await
        .unwrap();
    assert_eq!(ended.sessions, vec![s.handle.clone()]);
    assert_eq!(
        ended.revocations,
        vec![Revocation {
            target: Target::Sid(s.handle.to_string()),
            at: t(5),
            expires_at: t(5).saturating_add(TTL),
        }]
    );
    assert!(!live(store, &secret).await);
    let again = store
        .delete_session_by_secret(&secret.hash(), at(6))
        .await
        .unwrap();
    assert!(again.is_empty() && again.revocations.is_empty());
}

pub async fn sessions_end_by_handle_only_for_their_owner(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let (secret, s) = session(store, &alice, 10, 0).await;
    let refused = store
        .delete_session(&s.handle, Some(bob.id), at(0))
        .await
        .unwrap();
    assert!(refused.is_empty() && refused.revocations.is_empty());
    assert!(live(store, &secret).await);
    let ended = store
        .delete_session(&s.handle, Some(alice.id), at(0))
        .await
        .unwrap();
    assert_eq!(ended.sessions, vec![s.handle]);
    assert!(!live(store, &secret).await);
    // An administrator (no owner) may end any session.
    let (secret2, s2) = session(store, &bob, 11, 0).await;
    let ended = store.delete_session(&s2.handle, None, at(0)).await.unwrap();
    assert_eq!(ended.sessions.len(), 1);
    assert!(!live(store, &secret2).await);
}

pub async fn log_out_everywhere_keeps_only_the_kept_session(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let (a1, s1) = session(store, &alice, 10, 0).await;
    let (a2, _) = session(store, &alice, 11, 0).await;
    let (b1, _) = session(store, &bob, 12, 0).await;
    let bob_family = family(store, &bob, "fam-bob", 0).await;
    let keep = Keep {
        session: Some(&s1.handle),
        family: None,
    };
    let ended = store
        .end_user_sessions(alice.id, keep, at(0), false)
        .await
        .unwrap();
    assert_eq!(ended.sessions.len(), 1);
    assert!(live(store, &a1).await);
    assert!(!live(store, &a2).await);
    let ended = store
        .end_user_sessions(alice.id, Keep::default(), at(0), true)
        .await
        .unwrap();
    assert_eq!(ended.sessions, vec![s1.handle.clone()]);
    assert!(
        ended
            .revocations
            .iter()
            .any(|r| r.target == Target::User(alice.id.to_string())),
        "log out everywhere records a per-user not-before"
    );
    assert!(!live(store, &a1).await);
    assert!(live(store, &b1).await);
    assert!(matches!(
        store
            .refresh(&bob_family, &succ(1), at(1), GRACE)
            .await
            .unwrap(),
        RefreshOutcome::Rotated { .. }
    ));
}

pub async fn listing_shows_only_unexpired_sessions_of_the_user(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let (_, old) = session(store, &alice, 10, 0).await;
    let (_, newer) = session(store, &alice, 11, 20 * 60_000).await;
    session(store, &bob, 12, 0).await;
    // At 25 min both of alice's are live, newest first.
    let at25 = store
        .list_sessions(Some(alice.id), t(25 * 60_000))
        .await
        .unwrap();
    assert_eq!(at25, vec![newer.clone(), old]);
    // At 30 min the first has idled out (exact edge).
    let at30 = store
        .list_sessions(Some(alice.id), t(30 * 60_000))
        .await
        .unwrap();
    assert_eq!(at30, vec![newer]);
    assert_eq!(
        store
            .list_sessions(None, t(25 * 60_000))
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        store.count_active_sessions(t(25 * 60_000)).await.unwrap(),
        3
    );
    // bob's session, started at 0, has idled out too.
    assert_eq!(
        store.count_active_sessions(t(30 * 60_000)).await.unwrap(),
        1
    );
}

pub async fn sweep_removes_exactly_the_expired(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (a, _) = session(store, &alice, 10, 0).await;
    let (b, _) = session(store, &alice, 11, 1).await;
    assert_eq!(
        store
            .sweep_expired_sessions(t(30 * 60_000 - 1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.sweep_expired_sessions(t(30 * 60_000)).await.unwrap(),
        1
    );
    assert!(store.session_by_secret(&a.hash()).await.unwrap().is_none());
    assert!(store.session_by_secret(&b.hash()).await.unwrap().is_some());
}
