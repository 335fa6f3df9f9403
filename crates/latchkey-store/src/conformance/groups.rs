//! Conformance cases: group membership.

use super::*;

pub async fn groups_are_per_user_sorted_and_idempotent(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    assert!(store.groups_of(alice.id).await.unwrap().is_empty());
    assert!(store.add_to_group(alice.id, "ops").await.unwrap());
    assert!(store.add_to_group(alice.id, "Admins").await.unwrap());
    assert!(store.add_to_group(alice.id, "admins").await.unwrap());
    assert!(
        !store.add_to_group(alice.id, "ops").await.unwrap(),
        "already a member"
    );
    assert!(store.add_to_group(bob.id, "ops").await.unwrap());
    assert_eq!(
        store.groups_of(alice.id).await.unwrap(),
        ["Admins", "admins", "ops"]
    );
    assert!(store.remove_from_group(alice.id, "ops").await.unwrap());
    assert!(!store.remove_from_group(alice.id, "ops").await.unwrap());
    assert_eq!(
        store.groups_of(alice.id).await.unwrap(),
        ["Admins", "admins"]
    );
    assert_eq!(store.groups_of(bob.id).await.unwrap(), ["ops"]);
}

pub async fn groups_of_an_unknown_user_are_a_conflict(store: &dyn Store) {
    let ghost = UserId::from_random(seed(9));
    assert!(matches!(
        store.add_to_group(ghost, "ops").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.groups_of(ghost).await.unwrap().is_empty());
}
