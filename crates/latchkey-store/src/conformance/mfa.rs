//! Conformance cases: TOTP factors, recovery codes, pending logins.

use super::*;
use crate::{Finished, PendingLogin, Proof, TotpFactor};

fn factor(u: &User, at_ms: i64) -> TotpFactor {
    TotpFactor {
        user_id: u.id,
        secret: vec![7; 20],
        sealed: false,
        created_at: t(at_ms),
        confirmed_at: None,
        last_step: None,
    }
}

fn code(n: u8) -> [u8; 32] {
    [n; 32]
}

fn pending(u: &User, expires_ms: i64) -> PendingLogin {
    PendingLogin {
        user_id: u.id,
        flavour: "session".into(),
        remember: true,
        client: vec![9; 32],
        passed: "pwd".into(),
        attempts: 0,
        created_at: t(0),
        expires_at: t(expires_ms),
    }
}

pub async fn mfa_totp_enrolment_is_pending_until_confirmed(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    assert!(store.begin_totp(&factor(&alice, 0)).await.unwrap());
    // A second enrolment replaces the pending one.
    let mut again = factor(&alice, 5);
    again.secret = vec![8; 20];
    assert!(store.begin_totp(&again).await.unwrap());
    let stored = store.totp_factor(alice.id).await.unwrap().unwrap();
    assert_eq!((stored.secret, stored.confirmed_at), (vec![8; 20], None));
    // A pending factor accepts no step.
    assert!(
        !store
            .accept_proof(alice.id, Proof::TotpStep(10), t(1))
            .await
            .unwrap()
    );
    let codes = [code(1), code(2)];
    assert!(
        store
            .confirm_totp(alice.id, 10, &codes, t(9))
            .await
            .unwrap()
    );
    assert!(
        !store
            .confirm_totp(alice.id, 11, &codes, t(9))
            .await
            .unwrap()
    );
    let stored = store.totp_factor(alice.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.confirmed_at, stored.last_step),
        (Some(t(9)), Some(10))
    );
    // A confirmed factor is not replaced by a new enrolment.
    assert!(!store.begin_totp(&factor(&alice, 20)).await.unwrap());
    assert_eq!(store.recovery_state(alice.id).await.unwrap().remaining, 2);
    assert!(
        store
            .totp_factor(user(store, "bob", 2).await.id)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn mfa_a_totp_step_is_accepted_once_and_only_forward(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    store.begin_totp(&factor(&alice, 0)).await.unwrap();
    store.confirm_totp(alice.id, 100, &[], t(0)).await.unwrap();
    let step = |s| store.accept_proof(alice.id, Proof::TotpStep(s), t(1));
    assert!(!step(100).await.unwrap(), "the confirming step is spent");
    assert!(!step(99).await.unwrap());
    assert!(step(101).await.unwrap());
    assert!(!step(101).await.unwrap(), "replay");
    // Concurrent acceptances of one step: exactly one wins.
    let wins = futures_join_all((0..8).map(|_| step(102))).await;
    assert_eq!(wins.into_iter().filter(|w| *w.as_ref().unwrap()).count(), 1);
}

pub async fn mfa_recovery_codes_are_single_use_and_regenerating_voids_the_old_set(
    store: &dyn Store,
) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    store
        .replace_recovery_codes(alice.id, &[code(1), code(2), code(3)], t(0))
        .await
        .unwrap();
    let used = |u: UserId, n: u8, at| async move {
        store
            .accept_proof(u, Proof::RecoveryCode(&code(n)), t(at))
            .await
    };
    assert!(!used(bob.id, 1, 1).await.unwrap(), "another user's code");
    assert!(used(alice.id, 1, 5).await.unwrap());
    assert!(!used(alice.id, 1, 6).await.unwrap(), "used twice");
    let state = store.recovery_state(alice.id).await.unwrap();
    assert_eq!((state.remaining, state.last_used_at), (2, Some(t(5))));
    store
        .replace_recovery_codes(alice.id, &[code(4)], t(10))
        .await
        .unwrap();
    assert!(!used(alice.id, 2, 11).await.unwrap(), "old set void");
    let state = store.recovery_state(alice.id).await.unwrap();
    assert_eq!((state.remaining, state.last_used_at), (1, None));
    assert_eq!(store.recovery_state(bob.id).await.unwrap().remaining, 0);
}

pub async fn mfa_pending_logins_finish_once_with_an_accepted_proof(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    store.begin_totp(&factor(&alice, 0)).await.unwrap();
    store
        .confirm_totp(alice.id, 100, &[code(1)], t(0))
        .await
        .unwrap();
    let token = code(50);
    store
        .create_pending_login(&token, &pending(&alice, 300_000))
        .await
        .unwrap();
    assert_eq!(
        store.pending_login(&token, t(1)).await.unwrap(),
        Some(pending(&alice, 300_000))
    );
    // A replayed step is refused and the pending login stays.
    let finish = |p| store.finish_pending_login(&token, p, t(2));
    assert_eq!(
        finish(Proof::TotpStep(100)).await.unwrap(),
        Finished::Refused
    );
    assert!(store.pending_login(&token, t(2)).await.unwrap().is_some());
    // Concurrent finishes with different fresh proofs: one completes.
    let first_code = code(1);
    let outcomes = futures_join_all(
        [Proof::TotpStep(101), Proof::RecoveryCode(&first_code)]
            .into_iter()
            .map(finish),
    )
    .await;
    let done = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Finished::Done(_))))
        .count();
    assert_eq!(done, 1, "{outcomes:?}");
    assert_eq!(finish(Proof::TotpStep(105)).await.unwrap(), Finished::Gone);
    assert!(store.pending_login(&token, t(3)).await.unwrap().is_none());
    // A passkey assertion (checked and recorded before) finishes a pending
    // login once.
    let passkeyed = code(51);
    store
        .create_pending_login(&passkeyed, &pending(&alice, 300_000))
        .await
        .unwrap();
    let finish = |p| store.finish_pending_login(&passkeyed, p, t(4));
    assert!(matches!(
        finish(Proof::Passkey).await.unwrap(),
        Finished::Done(_)
    ));
    assert_eq!(finish(Proof::Passkey).await.unwrap(), Finished::Gone);
}

pub async fn mfa_pending_logins_end_at_the_last_attempt_and_expire(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let token = code(60);
    store
        .create_pending_login(&token, &pending(&alice, 1_000))
        .await
        .unwrap();
    for n in 1..=4 {
        assert_eq!(
            store.count_pending_failure(&token, 5).await.unwrap(),
            Some(n)
        );
    }
    assert_eq!(
        store
            .pending_login(&token, t(0))
            .await
            .unwrap()
            .unwrap()
            .attempts,
        4
    );
    assert_eq!(
        store.count_pending_failure(&token, 5).await.unwrap(),
        Some(5)
    );
    assert!(store.pending_login(&token, t(0)).await.unwrap().is_none());
    assert_eq!(store.count_pending_failure(&token, 5).await.unwrap(), None);
    // Expiry: not found at its end, and swept.
    let other = code(61);
    store
        .create_pending_login(&other, &pending(&alice, 1_000))
        .await
        .unwrap();
    assert!(store.pending_login(&other, t(999)).await.unwrap().is_some());
    assert!(
        store
            .pending_login(&other, t(1_000))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .finish_pending_login(&other, Proof::TotpStep(1), t(1_000))
            .await
            .unwrap(),
        Finished::Gone
    );
    assert_eq!(store.sweep_pending_logins(t(999)).await.unwrap(), 0);
    assert_eq!(store.sweep_pending_logins(t(1_000)).await.unwrap(), 1);
}

pub async fn mfa_removing_second_factors_removes_codes_and_pending_logins(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    store.begin_totp(&factor(&alice, 0)).await.unwrap();
    store
        .confirm_totp(alice.id, 1, &[code(1)], t(0))
        .await
        .unwrap();
    store
        .create_pending_login(&code(70), &pending(&alice, 300_000))
        .await
        .unwrap();
    assert!(store.remove_second_factors(alice.id).await.unwrap());
    assert!(store.totp_factor(alice.id).await.unwrap().is_none());
    assert_eq!(store.recovery_state(alice.id).await.unwrap().remaining, 0);
    assert!(
        store
            .pending_login(&code(70), t(1))
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.remove_second_factors(alice.id).await.unwrap());
}
