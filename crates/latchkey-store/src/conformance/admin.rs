//! Conformance cases: admin keys, the user listing, disabling and deleting.

use super::*;
use crate::{AdminKeyRecord, UserQuery};

fn key(id: &str, name: &str, hash: u8, scopes: &[&str]) -> AdminKeyRecord {
    AdminKeyRecord {
        id: id.into(),
        name: name.into(),
        key_hash: vec![hash; 32],
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        created_at: t(0),
        last_used_at: None,
        revoked_at: None,
    }
}

pub async fn admin_keys_are_found_by_hash_until_revoked(store: &dyn Store) {
    let ops = key("ak-1", "ops", 1, &["users:read", "users:write"]);
    store.create_admin_key(&ops).await.unwrap();
    assert_eq!(
        store.admin_key_by_hash(&[1; 32]).await.unwrap(),
        Some(ops.clone())
    );
    assert_eq!(store.admin_key_by_hash(&[2; 32]).await.unwrap(), None);
    // A live name is unique; a revoked one may be used again.
    assert!(matches!(
        store.create_admin_key(&key("ak-2", "ops", 2, &[])).await,
        Err(StoreError::Conflict(_))
    ));
    store.touch_admin_key("ak-1", t(5)).await.unwrap();
    assert!(store.revoke_admin_key("ops", t(10)).await.unwrap());
    assert!(!store.revoke_admin_key("ops", t(11)).await.unwrap());
    assert_eq!(store.admin_key_by_hash(&[1; 32]).await.unwrap(), None);
    store
        .create_admin_key(&key("ak-3", "ops", 3, &["events:read"]))
        .await
        .unwrap();
    let all = store.admin_keys().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].last_used_at, Some(t(5)));
    assert_eq!(all[0].revoked_at, Some(t(10)));
    assert_eq!(all[1].scopes, ["events:read"]);
}

pub async fn users_are_listed_by_name_page_by_page_and_searched(store: &dyn Store) {
    for (i, name) in ["carol", "alice", "bob_1", "bobby", "dave"]
        .iter()
        .enumerate()
    {
        user(store, name, u8::try_from(i).unwrap() + 1).await;
    }
    let names = |users: Vec<User>| -> Vec<String> {
        users
            .iter()
            .map(|u| u.username.as_str().to_owned())
            .collect()
    };
    let page = |search, after, limit| UserQuery {
        search,
        after,
        limit,
    };
    let first = store.list_users(page(None, None, 2)).await.unwrap();
    assert_eq!(names(first), ["alice", "bob_1"]);
    let next = store
        .list_users(page(None, Some("bob_1"), 2))
        .await
        .unwrap();
    assert_eq!(names(next), ["bobby", "carol"]);
    let last = store
        .list_users(page(None, Some("carol"), 2))
        .await
        .unwrap();
    assert_eq!(names(last), ["dave"]);
    let found = store.list_users(page(Some("BOB"), None, 10)).await.unwrap();
    assert_eq!(names(found), ["bob_1", "bobby"]);
    // `_` and `%` are text, not wildcards.
    let literal = store.list_users(page(Some("b_"), None, 10)).await.unwrap();
    assert_eq!(names(literal), ["bob_1"]);
    assert!(
        store
            .list_users(page(Some("%"), None, 10))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn disabling_a_user_ends_everything_in_one_transaction(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let (a_secret, a_session) = session(store, &alice, 10, 0).await;
    let (b_secret, _) = session(store, &bob, 11, 0).await;
    let a_family = family(store, &alice, "fam-a", 0).await;
    let ended = store
        .set_user_disabled(alice.id, true, at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.sessions, vec![a_session.handle]);
    assert_eq!(ended.families, ["fam-a"]);
    assert!(
        ended
            .revocations
            .iter()
            .any(|r| r.target == Target::User(alice.id.to_string())),
        "a not-before for the user's access tokens"
    );
    let (log, _) = store.revocations_since(0, t(0)).await.unwrap();
    assert_eq!(log, ended.revocations);
    assert!(!live(store, &a_secret).await);
    assert!(live(store, &b_secret).await);
    assert_eq!(
        store
            .refresh(&a_family, &succ(1), at(2), GRACE)
            .await
            .unwrap(),
        RefreshOutcome::Revoked
    );
    let stored = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(stored.disabled_at, Some(t(1)));
    // Enabling ends nothing and clears the mark.
    let again = store
        .set_user_disabled(alice.id, false, at(3))
        .await
        .unwrap()
        .unwrap();
    assert!(again.is_empty() && again.revocations.is_empty());
    let stored = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(stored.disabled_at, None);
    let nobody = UserId::from_random([99; 16]);
    assert!(
        store
            .set_user_disabled(nobody, true, at(4))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn deleting_a_user_keeps_the_revocations_of_what_they_held(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, s) = session(store, &alice, 10, 0).await;
    family(store, &alice, "fam-a", 0).await;
    let ended = store.delete_user(alice.id, at(1)).await.unwrap().unwrap();
    assert_eq!(ended.sessions, vec![s.handle]);
    assert_eq!(ended.families, ["fam-a"]);
    assert!(!live(store, &secret).await);
    assert_eq!(store.user_by_id(alice.id).await.unwrap(), None);
    let (log, _) = store.revocations_since(0, t(0)).await.unwrap();
    assert_eq!(log, ended.revocations, "the denylist outlives the user");
    assert!(store.delete_user(alice.id, at(2)).await.unwrap().is_none());
    // The name is free again.
    user(store, "alice", 2).await;
}
