//! Conformance cases: accounts without a password, and the assurance
//! (`amr`, `auth_time`) sessions and refresh families record and step-up
//! raises.

use super::*;

fn values(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

pub async fn assurance_a_user_without_a_password_reads_back_as_none(store: &dyn Store) {
    let passkey_only = User {
        id: UserId::from_random(seed(7)),
        username: Username::parse("keyholder").unwrap(),
        password_hash: None,
        created_at: t(0),
        disabled_at: None,
    };
    store.create_user(&passkey_only).await.unwrap();
    let by_name = store.user_by_name(&passkey_only.username).await.unwrap();
    assert_eq!(by_name.as_ref().map(|u| &u.password_hash), Some(&None));
    assert_eq!(
        store.user_by_id(passkey_only.id).await.unwrap(),
        Some(passkey_only)
    );
    // An account with a password still has it.
    let alice = user(store, "alice", 1).await;
    let read = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert!(read.password_hash.is_some());
}

pub async fn assurance_sessions_and_families_keep_amr_and_auth_time(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let secret = SessionSecret::from_random([3; 32]);
    let s = Session {
        assurance: Assurance::new(["hwk", "mfa"], t(-5_000)),
        ..policy().start(
            SessionHandle::from_random([3; 16]),
            alice.id,
            t(0),
            false,
            None,
            None,
        )
    };
    store.create_session(&secret.hash(), &s).await.unwrap();
    let (read, _) = store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.assurance.amr, values(&["hwk", "mfa"]));
    assert_eq!(read.assurance.auth_time, t(-5_000));
    let listed = store.list_sessions(Some(alice.id), t(1)).await.unwrap();
    assert_eq!(listed[0].assurance, s.assurance);

    let first = family(store, &alice, "fam-a", 0).await;
    let outcome = store.refresh(&first, &succ(1), at(1_000), GRACE).await;
    let Ok(RefreshOutcome::Rotated { family, .. }) = outcome else {
        panic!("expected a rotation, got {outcome:?}");
    };
    assert_eq!(family.assurance, Assurance::new(["pwd"], t(0)));
    let of = store.family_of(&succ(1)).await.unwrap().unwrap();
    assert_eq!(of.assurance, family.assurance);
}

pub async fn assurance_step_up_raises_a_session(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, _) = session(store, &alice, 4, 0).await;
    let raised = store
        .reauthenticate_session(&secret.hash(), &values(&["otp"]), t(60_000))
        .await
        .unwrap();
    let expected = Assurance {
        amr: values(&["pwd", "otp", "mfa"]),
        auth_time: t(60_000),
    };
    assert_eq!(raised, Some(expected.clone()));
    let (read, _) = store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.assurance, expected);
    // The same method again changes only the time.
    let again = store
        .reauthenticate_session(&secret.hash(), &values(&["otp"]), t(90_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.amr, expected.amr);
    assert_eq!(again.auth_time, t(90_000));
    // No such session.
    let unknown = SessionSecret::from_random([99; 32]).hash();
    let none = store
        .reauthenticate_session(&unknown, &values(&["otp"]), t(1))
        .await
        .unwrap();
    assert_eq!(none, None);
}

pub async fn assurance_step_up_raises_a_live_family_only(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    family(store, &alice, "fam-b", 0).await;
    let raised = store
        .reauthenticate_family("fam-b", &values(&["hwk"]), t(30_000))
        .await
        .unwrap();
    assert_eq!(
        raised.as_ref().map(|a| a.amr.clone()),
        Some(values(&["pwd", "hwk", "mfa"]))
    );
    // A rotation afterwards carries the raised assurance.
    let first = {
        let mut seed = [0u8; 32];
        for (slot, b) in seed.iter_mut().zip("fam-b".bytes()) {
            *slot = b;
        }
        RefreshSecret::from_random(seed).hash()
    };
    let outcome = store.refresh(&first, &succ(2), at(40_000), GRACE).await;
    let Ok(RefreshOutcome::Rotated { family, .. }) = outcome else {
        panic!("expected a rotation, got {outcome:?}");
    };
    assert_eq!(Some(family.assurance), raised);
    // A revoked family is not raised.
    store.revoke_family("fam-b", at(50_000)).await.unwrap();
    let refused = store
        .reauthenticate_family("fam-b", &values(&["otp"]), t(60_000))
        .await
        .unwrap();
    assert_eq!(refused, None);
    let none = store
        .reauthenticate_family("fam-none", &values(&["otp"]), t(60_000))
        .await
        .unwrap();
    assert_eq!(none, None);
}

pub async fn assurance_concurrent_step_ups_keep_every_method(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, _) = session(store, &alice, 6, 0).await;
    let hash = secret.hash();
    let methods = ["otp", "hwk", "swk", "email"];
    let steps = methods.iter().enumerate().map(|(i, m)| {
        let added = values(&[m]);
        let hash = hash.clone();
        async move {
            let at = t(10_000 + i64::try_from(i).unwrap());
            store.reauthenticate_session(&hash, &added, at).await
        }
    });
    for result in futures_util::future::join_all(steps).await {
        assert!(result.unwrap().is_some());
    }
    let (read, _) = store.session_by_secret(&hash).await.unwrap().unwrap();
    for m in methods {
        assert!(read.assurance.amr.iter().any(|v| v == m), "{m} lost");
    }
    assert_eq!(read.assurance.amr.last().map(String::as_str), Some("mfa"));
    assert_eq!(read.assurance.auth_time, t(10_003));
}
