//! Conformance cases: refresh families and rotation, the revocation log,
//! signing keys.

use super::*;

pub async fn refresh_rotates_once_and_grace_returns_the_same_successor(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let first = family(store, &alice, "fam-1", 0).await;
    let next = succ(1);
    let rotated = store
        .refresh(&first, &next, at(1_000), GRACE)
        .await
        .unwrap();
    let RefreshOutcome::Rotated { family, issued_at } = rotated else {
        panic!("expected rotation, got {rotated:?}");
    };
    assert_eq!((family.id.as_str(), issued_at), ("fam-1", t(1_000)));
    // The same spent token within the grace window: the same successor,
    // with the original issue time.
    let again = store
        .refresh(&first, &next, at(10_999), GRACE)
        .await
        .unwrap();
    assert!(matches!(again, RefreshOutcome::Grace { issued_at, .. } if issued_at == t(1_000)));
    // The successor rotates in turn.
    assert!(matches!(
        store
            .refresh(&next, &succ(2), at(2_000), GRACE)
            .await
            .unwrap(),
        RefreshOutcome::Rotated { .. }
    ));
    assert_eq!(
        store
            .refresh(&succ(99), &succ(98), at(0), GRACE)
            .await
            .unwrap(),
        RefreshOutcome::Unknown
    );
}

pub async fn refresh_reuse_after_grace_revokes_the_family(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let first = family(store, &alice, "fam-1", 0).await;
    store.refresh(&first, &succ(1), at(0), GRACE).await.unwrap();
    let reused = store
        .refresh(&first, &succ(1), at(10_000), GRACE)
        .await
        .unwrap();
    assert!(
        matches!(reused, RefreshOutcome::Reused { ref family, ref revocations } if family.id == "fam-1" && revocations.len() == 1)
    );
    // The whole family is dead, including the live successor.
    assert_eq!(
        store
            .refresh(&succ(1), &succ(2), at(10_001), GRACE)
            .await
            .unwrap(),
        RefreshOutcome::Revoked
    );
    let fam = store.family_of(&succ(1)).await.unwrap().unwrap();
    assert_eq!(fam.revoked_at, Some(t(10_000)));
}

pub async fn concurrent_refreshes_rotate_exactly_once(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let first = family(store, &alice, "fam-1", 0).await;
    let next = succ(1);
    let all = futures_join_all((0..20).map(|_| store.refresh(&first, &next, at(5), GRACE))).await;
    let mut rotated = 0;
    for r in all {
        match r.unwrap() {
            RefreshOutcome::Rotated { .. } => rotated += 1,
            RefreshOutcome::Grace { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(rotated, 1);
}

/// Rotations of many families at once (SQLite commits them together):
/// each is answered with its own outcome, each is durable (its successor
/// rotates next), and a reuse racing a rotation of one family still ends
/// that family.
pub async fn concurrent_refreshes_of_many_families_each_get_their_own_outcome(store: &dyn Store) {
    let (firsts, successors) = many_families(store, 24).await;
    let thief = succ(99);
    let rotations = firsts
        .iter()
        .zip(&successors)
        .map(|(first, next)| store.refresh(first, next, at(5), GRACE));
    // Family 0's first token presented a second time with another
    // successor: a stolen copy, racing the rightful rotation.
    let stolen = store.refresh(&firsts[0], &thief, at(5), GRACE);
    let (all, stolen) = futures_util::future::join(futures_join_all(rotations), stolen).await;
    let family_zero = [all[0].as_ref().unwrap(), stolen.as_ref().unwrap()];
    assert!(
        family_zero
            .iter()
            .any(|r| matches!(r, RefreshOutcome::Rotated { .. }))
            && family_zero
                .iter()
                .any(|r| matches!(r, RefreshOutcome::Reused { .. })),
        "one rotates, the other is caught: {family_zero:?}"
    );
    for (i, r) in all.iter().enumerate().skip(1) {
        match r.as_ref().unwrap() {
            RefreshOutcome::Rotated { family, .. } => assert_eq!(family.id, format!("fam-{i:02}")),
            other => panic!("family {i}: {other:?}"),
        }
    }
    assert!(
        store
            .family_of(&firsts[0])
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    for (i, next) in successors.iter().enumerate().skip(1) {
        assert_rotates(store, next, 200 + i as u8, 6, &format!("family {i}")).await;
    }
}

/// A refresh whose caller goes away part-way (a client that disconnects)
/// leaves its token rotated whole or not at all, and the rotations after
/// it are unharmed. Each one is given up after one more step than the
/// last, so that some stop between their statements.
pub async fn refreshes_abandoned_midway_rotate_whole_or_not_at_all(store: &dyn Store) {
    let (firsts, successors) = many_families(store, 20).await;
    for (steps, (first, next)) in firsts.iter().zip(&successors).enumerate() {
        let mut run = Box::pin(store.refresh(first, next, at(5), GRACE));
        for _ in 0..=steps {
            let step = std::future::poll_fn(|cx| std::task::Poll::Ready(run.as_mut().poll(cx)));
            if step.await.is_ready() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    for (i, (first, next)) in firsts.iter().zip(&successors).enumerate() {
        // Presented again: rotated now, or (if the abandoned one was
        // committed) the same successor within the grace window...
        let again = store.refresh(first, next, at(6), GRACE).await.unwrap();
        assert!(
            matches!(
                again,
                RefreshOutcome::Rotated { .. } | RefreshOutcome::Grace { .. }
            ),
            "family {i}: {again:?}"
        );
        // ...and in both cases that successor exists and rotates.
        assert_rotates(store, next, 200 + i as u8, 7, &format!("family {i}")).await;
    }
}

/// `n` families of one user, `fam-00` on: their first tokens, and the
/// successors to present them with (`succ(100)` on).
async fn many_families(store: &dyn Store, n: u8) -> (Vec<RefreshHash>, Vec<RefreshHash>) {
    let alice = user(store, "alice", 1).await;
    let mut firsts = Vec::new();
    for i in 0..n {
        firsts.push(family(store, &alice, &format!("fam-{i:02}"), 0).await);
    }
    (firsts, (0..n).map(|i| succ(100 + i)).collect())
}

/// Asserts that `token` rotates (to `succ(n)`) at `at_ms`, as a live
/// token does.
async fn assert_rotates(store: &dyn Store, token: &RefreshHash, n: u8, at_ms: i64, what: &str) {
    let r = store
        .refresh(token, &succ(n), at(at_ms), GRACE)
        .await
        .unwrap();
    assert!(matches!(r, RefreshOutcome::Rotated { .. }), "{what}: {r:?}");
}

pub async fn refresh_family_lifetime_is_absolute(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let first = family(store, &alice, "fam-1", 0).await;
    let end = 30 * 24 * 3_600_000;
    store
        .refresh(&first, &succ(1), at(end - 1), GRACE)
        .await
        .unwrap();
    assert_eq!(
        store
            .refresh(&succ(1), &succ(2), at(end), GRACE)
            .await
            .unwrap(),
        RefreshOutcome::Expired
    );
}

pub async fn families_revoke_and_sweep(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let a = family(store, &alice, "fam-a", 0).await;
    let b = family(store, &alice, "fam-b", 1).await;
    assert_eq!(store.family_of(&a).await.unwrap().unwrap().id, "fam-a");
    assert!(store.family_of(&succ(7)).await.unwrap().is_none());
    let ended = store.revoke_family("fam-a", at(2)).await.unwrap();
    assert_eq!(ended.families, vec!["fam-a".to_owned()]);
    assert_eq!(
        ended.revocations,
        vec![at(2).entry(Target::Sid("fam-a".into()))]
    );
    assert!(
        store
            .revoke_family("fam-a", at(3))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.refresh(&a, &succ(1), at(4), GRACE).await.unwrap(),
        RefreshOutcome::Revoked
    );
    let ended = store
        .end_user_sessions(alice.id, Keep::default(), at(5), false)
        .await
        .unwrap();
    assert_eq!(ended.families, vec!["fam-b".to_owned()]);
    let end = 30 * 24 * 3_600_000;
    assert_eq!(store.sweep_families(t(end)).await.unwrap(), 1);
    assert_eq!(store.sweep_families(t(end + 1)).await.unwrap(), 1);
    assert!(store.family_of(&b).await.unwrap().is_none());
}

pub async fn revocation_log_is_incremental_and_pruned(store: &dyn Store) {
    let r = |v: &str, exp: i64| Revocation {
        target: Target::Jti(v.into()),
        at: t(0),
        expires_at: t(exp),
    };
    store
        .add_revocations(&[r("a", 100), r("b", 200)])
        .await
        .unwrap();
    let (first, cursor) = store.revocations_since(0, t(0)).await.unwrap();
    assert_eq!(first, vec![r("a", 100), r("b", 200)]);
    store.add_revocations(&[r("c", 300)]).await.unwrap();
    let (next, cursor2) = store.revocations_since(cursor, t(0)).await.unwrap();
    assert_eq!(next, vec![r("c", 300)]);
    assert!(cursor2 > cursor);
    let (none, same) = store.revocations_since(cursor2, t(0)).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(same, cursor2);
    // Expired entries are neither loaded nor kept.
    let (live, _) = store.revocations_since(0, t(100)).await.unwrap();
    assert_eq!(live, vec![r("b", 200), r("c", 300)]);
    assert_eq!(store.prune_revocations(t(200)).await.unwrap(), 2);
    let (left, _) = store.revocations_since(0, t(0)).await.unwrap();
    assert_eq!(left, vec![r("c", 300)]);
}

/// A log longer than a store reads at once (the SQL stores read 2,000 a
/// query) comes back whole, in order, with the cursor at its end.
pub async fn revocation_log_longer_than_a_page_is_read_whole(store: &dyn Store) {
    let entries: Vec<Revocation> = (0..4_321)
        .map(|i| Revocation {
            target: Target::Jti(format!("j{i}")),
            at: t(0),
            expires_at: t(1_000),
        })
        .collect();
    for chunk in entries.chunks(1_000) {
        store.add_revocations(chunk).await.unwrap();
    }
    let (all, cursor) = store.revocations_since(0, t(0)).await.unwrap();
    assert_eq!(all.len(), entries.len());
    assert!(all == entries, "every entry, in the order written");
    let (none, same) = store.revocations_since(cursor, t(0)).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(same, cursor);
    store
        .add_revocations(&[Revocation {
            target: Target::Sid("late".into()),
            at: t(0),
            expires_at: t(1_000),
        }])
        .await
        .unwrap();
    let (late, _) = store.revocations_since(cursor, t(0)).await.unwrap();
    assert_eq!(late.len(), 1);
}

pub async fn first_key_is_stored_once_and_rotation_retires_it(store: &dyn Store) {
    assert!(store.add_first_key(&key("k1", 0)).await.unwrap());
    assert!(!store.add_first_key(&key("k2", 0)).await.unwrap());
    store
        .rotate_key(&key("k3", 10), t(10), t(1_000))
        .await
        .unwrap();
    let keys = store.keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], key("k3", 10));
    assert_eq!(keys[1].kid, "k1");
    assert_eq!(keys[1].retired_at, Some(t(10)));
    assert_eq!(keys[1].not_after, Some(t(1_000)));
    assert_eq!(store.delete_expired_keys(t(999)).await.unwrap(), 0);
    assert_eq!(store.delete_expired_keys(t(1_000)).await.unwrap(), 1);
    assert_eq!(store.keys().await.unwrap(), vec![key("k3", 10)]);
}

pub async fn families_are_listed_live_with_their_device_and_last_use(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let mut hybrid = Family {
        id: "fam-hybrid".into(),
        user_id: alice.id,
        created_at: t(0),
        expires_at: t(30 * 24 * 3_600_000),
        revoked_at: None,
        assurance: Assurance::new(["pwd"], t(0)),
        kind: "cookie_jwt".into(),
        user_agent: Some("Firefox".into()),
        ip: Some("192.0.2.9".into()),
        last_used_at: t(0),
    };
    let first = succ(40);
    store.create_family(&hybrid, &first).await.unwrap();
    family(store, &alice, "fam-old", 5).await;
    family(store, &alice, "fam-gone", 6).await;
    family(store, &bob, "fam-bob", 7).await;
    store.revoke_family("fam-gone", at(8)).await.unwrap();
    let ids = |fs: Vec<Family>| fs.into_iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_families(Some(alice.id), t(10)).await.unwrap()),
        ["fam-old", "fam-hybrid"],
        "live ones, most recently used first"
    );
    // A rotation is a use.
    store
        .refresh(&first, &succ(41), at(20), GRACE)
        .await
        .unwrap();
    let listed = store.list_families(Some(alice.id), t(21)).await.unwrap();
    hybrid.last_used_at = t(20);
    assert_eq!(listed[0], hybrid);
    assert_eq!(store.list_families(None, t(21)).await.unwrap().len(), 3);
}
