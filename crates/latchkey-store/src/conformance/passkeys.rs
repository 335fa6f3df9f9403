//! Conformance cases: passkeys and WebAuthn ceremonies.

use super::*;
use crate::{Ceremony, PasskeyRecord, PasskeyUse};

fn passkey(u: &User, id: &str, cred: u8, at_ms: i64) -> PasskeyRecord {
    PasskeyRecord {
        id: id.into(),
        user_id: u.id,
        credential_id: vec![cred; 16],
        name: format!("key {id}"),
        passkey: format!("{{\"cred\":{cred}}}"),
        sign_count: 0,
        backup_eligible: false,
        backup_state: false,
        created_at: t(at_ms),
        last_used_at: None,
    }
}

fn used(count: i64, at_ms: i64) -> PasskeyUse {
    PasskeyUse {
        passkey: format!("{{\"count\":{count}}}"),
        sign_count: count,
        backup_eligible: true,
        backup_state: true,
        at: t(at_ms),
    }
}

fn ceremony(id: &str, kind: &str, user: Option<&User>, expires_ms: i64) -> Ceremony {
    Ceremony {
        id: id.into(),
        kind: kind.into(),
        user_id: user.map(|u| u.id),
        state: format!("state of {id}"),
        expires_at: t(expires_ms),
    }
}

pub async fn passkeys_are_listed_per_user_and_credentials_are_unique(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let a1 = passkey(&alice, "pk-a1", 1, 0);
    let a2 = passkey(&alice, "pk-a2", 2, 10);
    store.add_passkey(&a2).await.unwrap();
    store.add_passkey(&a1).await.unwrap();
    store
        .add_passkey(&passkey(&bob, "pk-b", 3, 0))
        .await
        .unwrap();
    assert_eq!(
        store.passkeys_of(alice.id).await.unwrap(),
        vec![a1.clone(), a2]
    );
    assert_eq!(
        store.passkey_by_credential(&[1; 16]).await.unwrap(),
        Some(a1)
    );
    assert_eq!(store.passkey_by_credential(&[9; 16]).await.unwrap(), None);
    // The same credential for another user (or again) is refused.
    let stolen = passkey(&bob, "pk-b2", 1, 20);
    assert!(matches!(
        store.add_passkey(&stolen).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn passkey_use_needs_a_counter_that_moved_forward(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    store
        .add_passkey(&passkey(&alice, "pk", 1, 0))
        .await
        .unwrap();
    // 0 → 0: an authenticator without a counter is fine, every time.
    assert!(store.record_passkey_use("pk", &used(0, 1)).await.unwrap());
    assert!(store.record_passkey_use("pk", &used(0, 2)).await.unwrap());
    assert!(store.record_passkey_use("pk", &used(5, 3)).await.unwrap());
    let got = store
        .passkey_by_credential(&[1; 16])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.sign_count, 5);
    assert!(got.backup_eligible && got.backup_state);
    assert_eq!(got.last_used_at, Some(t(3)));
    assert_eq!(got.passkey, "{\"count\":5}");
    // The same or a lower counter is a clone signal: nothing is written.
    assert!(!store.record_passkey_use("pk", &used(5, 4)).await.unwrap());
    assert!(!store.record_passkey_use("pk", &used(0, 4)).await.unwrap());
    assert!(!store.record_passkey_use("pk", &used(3, 4)).await.unwrap());
    let after = store
        .passkey_by_credential(&[1; 16])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((after.sign_count, after.last_used_at), (5, Some(t(3))));
    assert!(!store.record_passkey_use("nope", &used(9, 4)).await.unwrap());
}

pub async fn concurrent_uses_with_one_counter_record_one(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let mut pk = passkey(&alice, "pk", 1, 0);
    pk.sign_count = 3;
    store.add_passkey(&pk).await.unwrap();
    let u = used(4, 1);
    let tries = (0..8).map(|_| store.record_passkey_use("pk", &u));
    let won = futures_join_all(tries)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
}

pub async fn passkeys_are_deleted_only_by_their_owner(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    store
        .add_passkey(&passkey(&alice, "pk", 1, 0))
        .await
        .unwrap();
    assert!(!store.delete_passkey("pk", bob.id).await.unwrap());
    assert_eq!(store.passkeys_of(alice.id).await.unwrap().len(), 1);
    assert!(store.delete_passkey("pk", alice.id).await.unwrap());
    assert!(!store.delete_passkey("pk", alice.id).await.unwrap());
    assert_eq!(store.passkey_by_credential(&[1; 16]).await.unwrap(), None);
}

pub async fn ceremonies_are_taken_once_as_their_kind_before_expiry(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let reg = ceremony("c-reg", "register", Some(&alice), 300_000);
    assert!(store.put_ceremony(&reg, 10, t(0)).await.unwrap());
    assert!(
        store
            .put_ceremony(&ceremony("c-login", "login", None, 300_000), 10, t(0))
            .await
            .unwrap()
    );
    // Asked for as another kind, it is not there (and stays).
    assert_eq!(
        store.take_ceremony("c-reg", "login", t(1)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .take_ceremony("c-reg", "register", t(1))
            .await
            .unwrap(),
        Some(reg)
    );
    assert_eq!(
        store
            .take_ceremony("c-reg", "register", t(2))
            .await
            .unwrap(),
        None
    );
    // Expired: gone, even though the sweeper has not run.
    assert_eq!(
        store
            .take_ceremony("c-login", "login", t(300_000))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.take_ceremony("c-login", "login", t(0)).await.unwrap(),
        None
    );
}

pub async fn concurrent_takes_of_a_ceremony_yield_one(store: &dyn Store) {
    let c = ceremony("c", "login", None, 300_000);
    assert!(store.put_ceremony(&c, 10, t(0)).await.unwrap());
    let takes = (0..8).map(|_| store.take_ceremony("c", "login", t(1)));
    let got = futures_join_all(takes)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .count();
    assert_eq!(got, 1);
}

pub async fn ceremonies_are_bounded_and_swept(store: &dyn Store) {
    for (i, expires) in [(1, 100), (2, 200), (3, 300)] {
        let c = ceremony(&format!("c{i}"), "login", None, expires);
        assert!(store.put_ceremony(&c, 3, t(0)).await.unwrap());
    }
    // Three live ones: the fourth is refused.
    let extra = ceremony("c4", "login", None, 400);
    assert!(!store.put_ceremony(&extra, 3, t(0)).await.unwrap());
    // Expired ones do not count against the bound.
    assert!(store.put_ceremony(&extra, 3, t(100)).await.unwrap());
    assert_eq!(store.sweep_ceremonies(t(200)).await.unwrap(), 2);
    assert_eq!(
        store.take_ceremony("c1", "login", t(0)).await.unwrap(),
        None
    );
    assert!(
        store
            .take_ceremony("c3", "login", t(0))
            .await
            .unwrap()
            .is_some()
    );
    // Not yet expired: the sweep left it.
    assert!(
        store
            .take_ceremony("c4", "login", t(250))
            .await
            .unwrap()
            .is_some()
    );
}
