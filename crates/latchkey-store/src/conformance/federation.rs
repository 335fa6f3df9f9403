//! Conformance cases: provider identities, provider sign-ins, logout
//! `jti`s and pending authorisations.

use super::*;
use crate::{Ceremony, FederatedLogin, LinkedIdentity};

fn identity(u: &User, id: &str, provider: &str, subject: &str) -> LinkedIdentity {
    LinkedIdentity {
        id: id.into(),
        user_id: u.id,
        provider: provider.into(),
        subject: subject.into(),
        email: Some("someone@example.com".into()),
        created_at: t(0),
    }
}

fn login(subject: &str, sid: Option<&str>, session: &str, expires_ms: i64) -> FederatedLogin {
    FederatedLogin {
        provider: "acme".into(),
        subject: subject.into(),
        sid: sid.map(Into::into),
        session: Some(session.into()),
        family: None,
        expires_at: t(expires_ms),
    }
}

pub async fn oidc_identities_are_unique_per_provider_subject(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    store
        .link_identity(&identity(&alice, "i1", "acme", "s1"))
        .await
        .unwrap();
    // The same subject at another provider is another identity.
    store
        .link_identity(&identity(&alice, "i2", "other", "s1"))
        .await
        .unwrap();
    let taken = store
        .link_identity(&identity(&bob, "i3", "acme", "s1"))
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let found = store.identity_by_subject("acme", "s1").await.unwrap();
    assert_eq!(found.map(|i| i.user_id), Some(alice.id));
    let ids: Vec<_> = store.identities_of(alice.id).await.unwrap();
    assert_eq!(ids.len(), 2);
    assert!(store.identities_of(bob.id).await.unwrap().is_empty());
    // Only the owner unlinks.
    assert!(!store.unlink_identity("i1", bob.id).await.unwrap());
    assert!(store.unlink_identity("i1", alice.id).await.unwrap());
    assert_eq!(store.identity_by_subject("acme", "s1").await.unwrap(), None);
}

pub async fn oidc_a_federated_user_is_created_with_its_identity_or_not_at_all(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    store
        .link_identity(&identity(&alice, "i1", "acme", "s1"))
        .await
        .unwrap();
    let carol = User {
        id: UserId::from_random(seed(3)),
        username: Username::parse("carol").unwrap(),
        password_hash: None,
        created_at: t(0),
        disabled_at: None,
    };
    // The identity is linked already: no user is left behind.
    let linked = store
        .create_federated_user(&carol, &identity(&carol, "i2", "acme", "s1"))
        .await;
    assert!(matches!(linked, Err(StoreError::Conflict(_))), "{linked:?}");
    assert_eq!(store.user_by_id(carol.id).await.unwrap(), None);
    // The name is taken: no identity is left behind.
    let named = User {
        username: Username::parse("alice").unwrap(),
        ..carol.clone()
    };
    let taken = store
        .create_federated_user(&named, &identity(&named, "i3", "acme", "s2"))
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict("username taken"))),
        "{taken:?}"
    );
    assert_eq!(store.identity_by_subject("acme", "s2").await.unwrap(), None);
    store
        .create_federated_user(&carol, &identity(&carol, "i4", "acme", "s2"))
        .await
        .unwrap();
    let stored = store.user_by_id(carol.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, None);
    let found = store.identity_by_subject("acme", "s2").await.unwrap();
    assert_eq!(found.map(|i| i.user_id), Some(carol.id));
}

pub async fn oidc_logins_are_found_by_subject_or_sid_until_they_expire(store: &dyn Store) {
    for l in [
        login("s1", Some("p1"), "h1", 1_000),
        login("s1", Some("p2"), "h2", 1_000),
        login("s2", None, "h3", 1_000),
        login("s1", Some("p1"), "h4", 10),
    ] {
        store.record_federated_login(&l).await.unwrap();
    }
    let sessions = |v: Vec<FederatedLogin>| {
        let mut s: Vec<_> = v.into_iter().filter_map(|l| l.session).collect();
        s.sort();
        s
    };
    let by_sid = store
        .federated_logins("acme", None, Some("p1"), t(20))
        .await
        .unwrap();
    assert_eq!(sessions(by_sid), ["h1"]);
    let by_sub = store
        .federated_logins("acme", Some("s1"), None, t(0))
        .await
        .unwrap();
    assert_eq!(sessions(by_sub), ["h1", "h2", "h4"]);
    let both = store
        .federated_logins("acme", Some("s2"), Some("p1"), t(0))
        .await
        .unwrap();
    assert!(both.is_empty());
    let elsewhere = store
        .federated_logins("other", Some("s1"), None, t(0))
        .await
        .unwrap();
    assert!(elsewhere.is_empty());
    assert_eq!(store.sweep_federation(t(10)).await.unwrap(), 1);
    assert_eq!(store.sweep_federation(t(1_000)).await.unwrap(), 3);
}

pub async fn oidc_a_logout_token_is_used_once_even_concurrently(store: &dyn Store) {
    let uses = (0..8).map(|_| store.use_logout_token("acme", "j1", t(1_000)));
    let firsts = futures_join_all(uses)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(firsts, 1);
    // The same jti from another provider is another token.
    assert!(
        store
            .use_logout_token("other", "j1", t(1_000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_logout_token("acme", "j1", t(1_000))
            .await
            .unwrap()
    );
    assert_eq!(store.sweep_federation(t(1_000)).await.unwrap(), 2);
}

pub async fn oidc_concurrent_callbacks_take_a_pending_authorisation_once(store: &dyn Store) {
    let pending = Ceremony {
        id: "state-hash".into(),
        kind: "oidc".into(),
        user_id: None,
        state: "{\"nonce\":\"n\"}".into(),
        expires_at: t(600_000),
    };
    assert!(store.put_ceremony(&pending, 100, t(0)).await.unwrap());
    // Not as another kind.
    assert_eq!(
        store
            .take_ceremony("state-hash", "login", t(1))
            .await
            .unwrap(),
        None
    );
    let takes = (0..8).map(|_| store.take_ceremony("state-hash", "oidc", t(1)));
    let got = futures_join_all(takes)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .count();
    assert_eq!(got, 1);
}
