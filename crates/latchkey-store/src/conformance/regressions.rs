//! Conformance cases pinning fixed defects (issue 9 of the security
//! review), named after them.

use latchkey_core::refresh::RefreshHash;

use super::{GRACE, at, family, succ, t, user};
use crate::{RefreshOutcome, Store, recorded_issuer};

async fn refresh(
    store: &dyn Store,
    presented: &RefreshHash,
    next: &RefreshHash,
    ms: i64,
) -> RefreshOutcome {
    store.refresh(presented, next, at(ms), GRACE).await.unwrap()
}

/// A spent token whose successor has been used in turn is reuse, however
/// recent: grace would hand out the (spent) successor, and presenting
/// that again would walk forward to the live token.
pub async fn i9_04_refresh_grace_cannot_walk_the_chain(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let first = family(store, &alice, "fam-1", 0).await;
    let (one, two, three) = (succ(1), succ(2), succ(3));
    assert!(matches!(
        refresh(store, &first, &one, 1_000).await,
        RefreshOutcome::Rotated { .. }
    ));
    assert!(matches!(
        refresh(store, &one, &two, 1_001).await,
        RefreshOutcome::Rotated { .. }
    ));
    // `first` is 1 ms into its grace window, but `one` is spent: theft.
    let reused = refresh(store, &first, &one, 1_002).await;
    assert!(
        matches!(reused, RefreshOutcome::Reused { ref family, ref revocations } if family.id == "fam-1" && revocations.len() == 1),
        "{reused:?}"
    );
    // Nothing of the family refreshes any more, not even the live token.
    assert_eq!(
        refresh(store, &two, &three, 1_003).await,
        RefreshOutcome::Revoked
    );
    assert_eq!(
        refresh(store, &one, &two, 1_003).await,
        RefreshOutcome::Revoked
    );
    let fam = store.family_of(&two).await.unwrap().unwrap();
    assert_eq!(fam.revoked_at, Some(t(1_002)));

    // Grace still applies while the successor is unspent.
    let bob = user(store, "bob", 2).await;
    let b0 = family(store, &bob, "fam-2", 0).await;
    let (b1, b2) = (succ(11), succ(12));
    assert!(matches!(
        refresh(store, &b0, &b1, 0).await,
        RefreshOutcome::Rotated { .. }
    ));
    assert!(matches!(
        refresh(store, &b0, &b1, 9_999).await,
        RefreshOutcome::Grace { .. }
    ));
    assert!(matches!(
        refresh(store, &b1, &b2, 9_999).await,
        RefreshOutcome::Rotated { .. }
    ));
    assert!(matches!(
        refresh(store, &b0, &b1, 9_999).await,
        RefreshOutcome::Reused { .. }
    ));
}

/// The first node's issuer is recorded; later ones read it back, whatever
/// they propose, so a node can tell that it disagrees.
pub async fn i9_13_the_first_issuer_is_recorded_and_kept(store: &dyn Store) {
    let first = recorded_issuer(store, "https://auth.example.test")
        .await
        .unwrap();
    assert_eq!(first, "https://auth.example.test");
    let later = recorded_issuer(store, "http://127.0.0.1:8080")
        .await
        .unwrap();
    assert_eq!(later, "https://auth.example.test");
    // Concurrent later proposals all read the recorded one.
    let others = super::futures_join_all(
        ["https://a.test", "https://b.test"]
            .map(|c| recorded_issuer(store, c))
            .into_iter(),
    )
    .await;
    for o in others {
        assert_eq!(o.unwrap(), "https://auth.example.test");
    }
}

/// A key stored unsealed (before a master key was set) is sealed in place,
/// once; a sealed key is never replaced.
pub async fn i9_15_an_unsealed_key_is_sealed_once(store: &dyn Store) {
    let plain = crate::KeyRecord {
        kid: "k1".into(),
        alg: "EdDSA".into(),
        private: vec![1, 2, 3],
        sealed: false,
        created_at: t(0),
        retired_at: None,
        not_after: None,
    };
    assert!(store.add_first_key(&plain).await.unwrap());
    assert!(store.seal_key("k1", &[9, 9, 9, 9]).await.unwrap());
    assert!(!store.seal_key("k1", &[7]).await.unwrap(), "already sealed");
    assert!(!store.seal_key("nope", &[7]).await.unwrap());
    let keys = store.keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0].private.as_slice(), keys[0].sealed),
        ([9, 9, 9, 9].as_slice(), true)
    );
    assert_eq!(keys[0].created_at, t(0));
}
