//! One case per error class, so that the same failure is the same
//! [`StoreError`] on every backend. (A row this version cannot read,
//! `Corrupt`, needs raw SQL to make: each backend's test file has that
//! case.)

use latchkey_core::refresh::RefreshSecret;
use latchkey_core::{PasswordHash, UserId, Username};

use super::{key, seed, t, user};
use crate::{Family, Store, StoreError};

/// A family referring to a user that does not exist is refused as a
/// conflict (the caller's reference is dangling), not as an outage.
pub async fn errors_a_family_for_an_unknown_user_is_a_conflict(store: &dyn Store) {
    let first = RefreshSecret::from_random([7; 32]).hash();
    let family = Family {
        id: "fam-orphan".into(),
        user_id: UserId::from_random(seed(42)),
        created_at: t(0),
        expires_at: t(60_000),
        revoked_at: None,
        assurance: latchkey_core::Assurance::new(["pwd"], t(0)),
        kind: "tokens".into(),
        user_agent: None,
        ip: None,
        last_used_at: t(0),
    };
    let refused = store.create_family(&family, &first).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(store.family_of(&first).await.unwrap(), None);
}

/// Rotating to a key id that is already stored is a conflict, and the
/// rotation is undone as a whole: the current key stays current.
pub async fn errors_a_taken_key_id_is_a_conflict(store: &dyn Store) {
    assert!(store.add_first_key(&key("k1", 0)).await.unwrap());
    let refused = store.rotate_key(&key("k1", 10), t(10), t(1_000)).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(store.keys().await.unwrap(), vec![key("k1", 0)]);
}

/// A store that cannot answer (here: closed) is `Unavailable`, for reads
/// and writes alike.
pub async fn errors_a_closed_store_is_unavailable(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    store.close().await;
    let name = Username::parse("alice").unwrap();
    let read = store.user_by_name(&name).await;
    assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    let hash = PasswordHash::from_stored("$argon2id$other".into());
    let write = store.rehash_password(alice.id, &hash).await;
    assert!(
        matches!(write, Err(StoreError::Unavailable(_))),
        "{write:?}"
    );
    let ping = store.ping().await;
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
}

/// What makes a stored user unreadable: an id that is not a user id.
pub const SPOIL_USER_IDS: &str = "UPDATE users SET id = 'not a user id'";

/// A row this version cannot read is `Corrupt`. Not in the generated
/// suite: `spoil` must run [`SPOIL_USER_IDS`] on the backend's database
/// directly, which each backend's test file does.
pub async fn errors_an_unreadable_row_is_corrupt<F>(store: &dyn Store, spoil: F)
where
    F: std::future::Future<Output = ()>,
{
    let alice = user(store, "alice", 1).await;
    spoil.await;
    let read = store.user_by_name(&alice.username).await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
}
