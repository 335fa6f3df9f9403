//! Conformance cases: users, server secrets, login-failure windows.

use super::*;

pub async fn users_are_found_by_name_and_id(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    assert_eq!(
        store.user_by_name(&alice.username).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_id(alice.id).await.unwrap(), Some(alice));
    let nobody = Username::parse("nobody").unwrap();
    assert_eq!(store.user_by_name(&nobody).await.unwrap(), None);
    assert_eq!(
        store
            .user_by_id(UserId::from_random(seed(99)))
            .await
            .unwrap(),
        None
    );
}

pub async fn usernames_are_unique(store: &dyn Store) {
    user(store, "alice", 1).await;
    let dup = User {
        id: UserId::from_random(seed(2)),
        username: Username::parse("ALICE").unwrap(),
        password_hash: Some(PasswordHash::from_stored("x".into())),
        created_at: t(0),
        disabled_at: None,
    };
    assert!(matches!(
        store.create_user(&dup).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn replacing_a_password_ends_other_sessions_atomically(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let (keep_secret, keep) = session(store, &alice, 10, 0).await;
    let (other_secret, other) = session(store, &alice, 11, 0).await;
    let (bob_secret, _) = session(store, &bob, 12, 0).await;
    let kept_family = family(store, &alice, "fam-keep", 0).await;
    let other_family = family(store, &alice, "fam-other", 0).await;
    let new_hash = PasswordHash::from_stored("$argon2id$new".into());
    let keep_both = Keep {
        session: Some(&keep.handle),
        family: Some("fam-keep"),
    };
    let ended = store
        .replace_password(alice.id, &new_hash, keep_both, at(0))
        .await
        .unwrap();
    assert_eq!(ended.sessions, vec![other.handle.clone()]);
    assert_eq!(ended.families, vec!["fam-other".to_owned()]);
    let mut sids: Vec<_> = ended.revocations.iter().map(|r| r.target.clone()).collect();
    sids.sort_by_key(|t| format!("{t:?}"));
    assert_eq!(
        sids,
        vec![
            Target::Sid(other.handle.to_string()),
            Target::Sid("fam-other".into())
        ]
    );
    let stored = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, Some(new_hash.clone()));
    assert!(live(store, &keep_secret).await);
    assert!(!live(store, &other_secret).await);
    assert!(live(store, &bob_secret).await);
    assert!(matches!(
        store
            .refresh(&kept_family, &succ(1), at(1), GRACE)
            .await
            .unwrap(),
        RefreshOutcome::Rotated { .. }
    ));
    assert_eq!(
        store
            .refresh(&other_family, &succ(2), at(1), GRACE)
            .await
            .unwrap(),
        RefreshOutcome::Revoked
    );
    // The revocations were written through in the same transaction.
    let (log, _) = store.revocations_since(0, t(0)).await.unwrap();
    assert_eq!(log, ended.revocations);
    // Without anything to keep, all end.
    let all = store
        .replace_password(alice.id, &new_hash, Keep::default(), at(0))
        .await
        .unwrap();
    assert_eq!(all.sessions, vec![keep.handle]);
    assert!(!live(store, &keep_secret).await);
}

pub async fn rehash_changes_only_the_hash(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, _) = session(store, &alice, 10, 0).await;
    let h = PasswordHash::from_stored("$argon2id$rehashed".into());
    store.rehash_password(alice.id, &h).await.unwrap();
    assert_eq!(
        store
            .user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        Some(h)
    );
    assert!(
        store
            .session_by_secret(&secret.hash())
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn secrets_first_writer_wins(store: &dyn Store) {
    let first = store.secret_or_insert("csrf", &[1; 32]).await.unwrap();
    assert_eq!(first, vec![1; 32]);
    let second = store.secret_or_insert("csrf", &[2; 32]).await.unwrap();
    assert_eq!(second, vec![1; 32]);
    let other = store.secret_or_insert("other", &[3; 32]).await.unwrap();
    assert_eq!(other, vec![3; 32]);
}

pub async fn failures_count_within_a_window_and_reset_after(store: &dyn Store) {
    let w = 15 * MIN;
    assert_eq!(store.failures("acct:alice").await.unwrap(), None);
    for i in 1..=3u32 {
        let got = store
            .record_failure("acct:alice", w, t(i64::from(i)))
            .await
            .unwrap();
        assert_eq!(
            got,
            FailureWindow {
                count: i,
                started_at: t(1)
            }
        );
    }
    assert_eq!(
        store.failures("acct:alice").await.unwrap(),
        Some(FailureWindow {
            count: 3,
            started_at: t(1)
        })
    );
    // The window ends at exactly started_at + window: a new one begins.
    let end = 1 + 15 * 60_000;
    let got = store.record_failure("acct:alice", w, t(end)).await.unwrap();
    assert_eq!(
        got,
        FailureWindow {
            count: 1,
            started_at: t(end)
        }
    );
    assert_eq!(store.failures("acct:bob").await.unwrap(), None);
}

pub async fn concurrent_failures_are_all_counted(store: &dyn Store) {
    let w = 15 * MIN;
    let attempts = (0..40).map(|_| store.record_failure("addr:192.0.2.7", w, t(0)));
    for r in futures_join_all(attempts).await {
        r.unwrap();
    }
    let got = store.failures("addr:192.0.2.7").await.unwrap().unwrap();
    assert_eq!(got.count, 40);
}

pub async fn failures_clear_and_sweep(store: &dyn Store) {
    let w = 15 * MIN;
    store.record_failure("a", w, t(0)).await.unwrap();
    store.record_failure("b", w, t(10)).await.unwrap();
    store.clear_failures("a").await.unwrap();
    assert_eq!(store.failures("a").await.unwrap(), None);
    store.record_failure("f", w, t(0)).await.unwrap();
    store.record_failure("f", w, t(1)).await.unwrap();
    store.forgive_failure("f").await.unwrap();
    assert_eq!(store.failures("f").await.unwrap().unwrap().count, 1);
    store.forgive_failure("f").await.unwrap();
    store.forgive_failure("f").await.unwrap();
    assert_eq!(store.failures("f").await.unwrap().unwrap().count, 0);
    store.forgive_failure("nobody").await.unwrap();
    store.record_failure("c", w, t(20)).await.unwrap();
    assert_eq!(store.sweep_failures(t(20)).await.unwrap(), 2);
    assert_eq!(store.failures("b").await.unwrap(), None);
    assert!(store.failures("c").await.unwrap().is_some());
}

pub async fn ping_answers(store: &dyn Store) {
    store.ping().await.unwrap();
    assert!(!store.backend().is_empty());
}
