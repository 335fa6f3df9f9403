//! The store conformance suite: what every backend must do, run against
//! each of them. A backend's test file calls
//! [`conformance_suite!`](crate::conformance_suite) with an async factory
//! that returns a fresh, empty [`Fixture`] (or `None` when the backend is
//! not configured here); each case becomes a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::any::Any;
use std::time::Duration;

use latchkey_core::throttle::FailureWindow;
use latchkey_core::{
    PasswordHash, Session, SessionHandle, SessionPolicy, SessionSecret, Timestamp, UserId, Username,
};

use latchkey_core::refresh::{RefreshHash, RefreshSecret};
use latchkey_core::revocation::{Revocation, Target};

use crate::{Family, Keep, KeyRecord, RefreshOutcome, RevokeAt, Store, StoreError, User};

mod errors;
mod regressions;
pub use errors::*;
pub use regressions::*;

/// A fresh store, and whatever must live as long as it (a temp dir, a
/// schema to drop).
pub struct Fixture {
    pub store: Box<dyn Store>,
    pub guard: Box<dyn Any + Send>,
}

/// What a factory given to [`conformance_suite!`](crate::conformance_suite)
/// may produce: a [`Fixture`], or `Option<Fixture>` for a backend that is
/// tested only when configured (`None`: the case passes without running;
/// the factory says why).
pub trait IntoFixture {
    fn into_fixture(self) -> Option<Fixture>;
}

impl IntoFixture for Fixture {
    fn into_fixture(self) -> Option<Fixture> {
        Some(self)
    }
}

impl IntoFixture for Option<Fixture> {
    fn into_fixture(self) -> Option<Fixture> {
        self
    }
}

/// Generates one `#[tokio::test]` per conformance case, each on a store
/// made by `$make` (an expression giving a `Future` whose output is a
/// [`Fixture`], or an `Option<Fixture>` that is `None` to skip).
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@cases $make;
            users_are_found_by_name_and_id,
            usernames_are_unique,
            replacing_a_password_ends_other_sessions_atomically,
            rehash_changes_only_the_hash,
            sessions_are_found_by_secret_hash_only,
            session_for_unknown_user_is_refused,
            touch_moves_last_seen_forward_only,
            logout_deletes_by_secret_and_records_the_sid,
            sessions_end_by_handle_only_for_their_owner,
            log_out_everywhere_keeps_only_the_kept_session,
            listing_shows_only_unexpired_sessions_of_the_user,
            sweep_removes_exactly_the_expired,
            secrets_first_writer_wins,
            failures_count_within_a_window_and_reset_after,
            concurrent_failures_are_all_counted,
            failures_clear_and_sweep,
            refresh_rotates_once_and_grace_returns_the_same_successor,
            refresh_reuse_after_grace_revokes_the_family,
            concurrent_refreshes_rotate_exactly_once,
            refresh_family_lifetime_is_absolute,
            families_revoke_and_sweep,
            revocation_log_is_incremental_and_pruned,
            first_key_is_stored_once_and_rotation_retires_it,
            ping_answers,
            i9_04_refresh_grace_cannot_walk_the_chain,
            i9_13_the_first_issuer_is_recorded_and_kept,
            i9_15_an_unsealed_key_is_sealed_once,
            errors_a_family_for_an_unknown_user_is_a_conflict,
            errors_a_taken_key_id_is_a_conflict,
            errors_a_closed_store_is_unavailable
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fixture) = $crate::conformance::IntoFixture::into_fixture($make.await)
                else {
                    return;
                };
                $crate::conformance::$case(fixture.store.as_ref()).await;
                drop(fixture);
            }
        )*
    };
}

const T0: i64 = 1_800_000_000_000;
const MIN: Duration = Duration::from_secs(60);

fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}

fn policy() -> SessionPolicy {
    SessionPolicy {
        idle_timeout: 30 * MIN,
        absolute_timeout: 120 * MIN,
        touch_interval: MIN,
    }
}

fn seed(n: u8) -> [u8; 16] {
    [n; 16]
}

async fn user(store: &dyn Store, name: &str, n: u8) -> User {
    let u = User {
        id: UserId::from_random(seed(n)),
        username: Username::parse(name).unwrap(),
        // A syntactically valid hash; the suite never verifies it.
        password_hash: PasswordHash::from_stored(format!("$argon2id$v=19$m=19456,t=2,p=1$h{n}")),
        created_at: t(0),
    };
    store.create_user(&u).await.unwrap();
    u
}

async fn session(store: &dyn Store, u: &User, n: u8, at: i64) -> (SessionSecret, Session) {
    let secret = SessionSecret::from_random([n; 32]);
    let s = policy().start(
        SessionHandle::from_random([n; 16]),
        u.id,
        t(at),
        n.is_multiple_of(2),
        Some("conformance/1.0"),
        Some("192.0.2.1".into()),
    );
    store.create_session(&secret.hash(), &s).await.unwrap();
    (secret, s)
}

const TTL: Duration = Duration::from_secs(300);
const GRACE: Duration = Duration::from_secs(10);

fn at(ms: i64) -> RevokeAt {
    RevokeAt {
        now: t(ms),
        ttl: TTL,
    }
}

async fn live(store: &dyn Store, secret: &SessionSecret) -> bool {
    store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .is_some()
}

fn succ(n: u8) -> RefreshHash {
    RefreshSecret::from_random([n; 32]).hash()
}

/// A family for `u` with id `id`, started at `at_ms`, lasting 30 days;
/// returns the hash of its first token.
async fn family(store: &dyn Store, u: &User, id: &str, at_ms: i64) -> RefreshHash {
    let mut seed = [0u8; 32];
    for (slot, b) in seed.iter_mut().zip(id.bytes()) {
        *slot = b;
    }
    let first = RefreshSecret::from_random(seed).hash();
    let f = Family {
        id: id.into(),
        user_id: u.id,
        created_at: t(at_ms),
        expires_at: t(at_ms + 30 * 24 * 3_600_000),
        revoked_at: None,
    };
    store.create_family(&f, &first).await.unwrap();
    first
}

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
        password_hash: PasswordHash::from_stored("x".into()),
        created_at: t(0),
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
    assert_eq!(stored.password_hash, new_hash);
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
        h
    );
    assert!(
        store
            .session_by_secret(&secret.hash())
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn sessions_are_found_by_secret_hash_only(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, s) = session(store, &alice, 10, 0).await;
    let (found, name) = store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, s);
    assert_eq!(name, alice.username);
    let unknown = SessionSecret::from_random([77; 32]);
    assert!(
        store
            .session_by_secret(&unknown.hash())
            .await
            .unwrap()
            .is_none()
    );
    // The same secret cannot be stored twice.
    let again = policy().start(
        SessionHandle::from_random([55; 16]),
        alice.id,
        t(0),
        false,
        None,
        None,
    );
    assert!(matches!(
        store.create_session(&secret.hash(), &again).await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn session_for_unknown_user_is_refused(store: &dyn Store) {
    let s = policy().start(
        SessionHandle::from_random([1; 16]),
        UserId::from_random(seed(42)),
        t(0),
        false,
        None,
        None,
    );
    let secret = SessionSecret::from_random([1; 32]);
    assert!(matches!(
        store.create_session(&secret.hash(), &s).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store
            .session_by_secret(&secret.hash())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn touch_moves_last_seen_forward_only(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, _) = session(store, &alice, 10, 0).await;
    store
        .touch_session(&secret.hash(), t(5 * 60_000), t(35 * 60_000))
        .await
        .unwrap();
    // A late, older touch (another node) must not move it back.
    store
        .touch_session(&secret.hash(), t(2 * 60_000), t(32 * 60_000))
        .await
        .unwrap();
    let (s, _) = store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.last_seen_at, t(5 * 60_000));
    assert_eq!(s.idle_expires_at, t(35 * 60_000));
    assert_eq!(s.created_at, t(0));
}

pub async fn logout_deletes_by_secret_and_records_the_sid(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (secret, s) = session(store, &alice, 10, 0).await;
    let ended = store
        .delete_session_by_secret(&secret.hash(), at(5))
        .await
        .unwrap();
    assert_eq!(ended.sessions, vec![s.handle.clone()]);
    assert_eq!(
        ended.revocations,
        vec![Revocation {
            target: Target::Sid(s.handle.to_string()),
            at: t(5),
            expires_at: t(5).saturating_add(TTL),
        }]
    );
    assert!(!live(store, &secret).await);
    let again = store
        .delete_session_by_secret(&secret.hash(), at(6))
        .await
        .unwrap();
    assert!(again.is_empty() && again.revocations.is_empty());
}

pub async fn sessions_end_by_handle_only_for_their_owner(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let (secret, s) = session(store, &alice, 10, 0).await;
    let refused = store
        .delete_session(&s.handle, Some(bob.id), at(0))
        .await
        .unwrap();
    assert!(refused.is_empty() && refused.revocations.is_empty());
    assert!(live(store, &secret).await);
    let ended = store
        .delete_session(&s.handle, Some(alice.id), at(0))
        .await
        .unwrap();
    assert_eq!(ended.sessions, vec![s.handle]);
    assert!(!live(store, &secret).await);
    // An administrator (no owner) may end any session.
    let (secret2, s2) = session(store, &bob, 11, 0).await;
    let ended = store.delete_session(&s2.handle, None, at(0)).await.unwrap();
    assert_eq!(ended.sessions.len(), 1);
    assert!(!live(store, &secret2).await);
}

pub async fn log_out_everywhere_keeps_only_the_kept_session(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let (a1, s1) = session(store, &alice, 10, 0).await;
    let (a2, _) = session(store, &alice, 11, 0).await;
    let (b1, _) = session(store, &bob, 12, 0).await;
    let bob_family = family(store, &bob, "fam-bob", 0).await;
    let keep = Keep {
        session: Some(&s1.handle),
        family: None,
    };
    let ended = store
        .end_user_sessions(alice.id, keep, at(0), false)
        .await
        .unwrap();
    assert_eq!(ended.sessions.len(), 1);
    assert!(live(store, &a1).await);
    assert!(!live(store, &a2).await);
    let ended = store
        .end_user_sessions(alice.id, Keep::default(), at(0), true)
        .await
        .unwrap();
    assert_eq!(ended.sessions, vec![s1.handle.clone()]);
    assert!(
        ended
            .revocations
            .iter()
            .any(|r| r.target == Target::User(alice.id.to_string())),
        "log out everywhere records a per-user not-before"
    );
    assert!(!live(store, &a1).await);
    assert!(live(store, &b1).await);
    assert!(matches!(
        store
            .refresh(&bob_family, &succ(1), at(1), GRACE)
            .await
            .unwrap(),
        RefreshOutcome::Rotated { .. }
    ));
}

pub async fn listing_shows_only_unexpired_sessions_of_the_user(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    let (_, old) = session(store, &alice, 10, 0).await;
    let (_, newer) = session(store, &alice, 11, 20 * 60_000).await;
    session(store, &bob, 12, 0).await;
    // At 25 min both of alice's are live, newest first.
    let at25 = store
        .list_sessions(Some(alice.id), t(25 * 60_000))
        .await
        .unwrap();
    assert_eq!(at25, vec![newer.clone(), old]);
    // At 30 min the first has idled out (exact edge).
    let at30 = store
        .list_sessions(Some(alice.id), t(30 * 60_000))
        .await
        .unwrap();
    assert_eq!(at30, vec![newer]);
    assert_eq!(
        store
            .list_sessions(None, t(25 * 60_000))
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        store.count_active_sessions(t(25 * 60_000)).await.unwrap(),
        3
    );
    // bob's session, started at 0, has idled out too.
    assert_eq!(
        store.count_active_sessions(t(30 * 60_000)).await.unwrap(),
        1
    );
}

pub async fn sweep_removes_exactly_the_expired(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let (a, _) = session(store, &alice, 10, 0).await;
    let (b, _) = session(store, &alice, 11, 1).await;
    assert_eq!(
        store
            .sweep_expired_sessions(t(30 * 60_000 - 1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.sweep_expired_sessions(t(30 * 60_000)).await.unwrap(),
        1
    );
    assert!(store.session_by_secret(&a.hash()).await.unwrap().is_none());
    assert!(store.session_by_secret(&b.hash()).await.unwrap().is_some());
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

/// An unsealed EdDSA key `kid`, created at `at_ms`.
fn key(kid: &str, at_ms: i64) -> KeyRecord {
    KeyRecord {
        kid: kid.into(),
        alg: "EdDSA".into(),
        private: vec![1, 2, 3],
        sealed: false,
        created_at: t(at_ms),
        retired_at: None,
        not_after: None,
    }
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

pub async fn ping_answers(store: &dyn Store) {
    store.ping().await.unwrap();
    assert!(!store.backend().is_empty());
}

/// Runs futures concurrently on the current task (no extra dependency).
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out = Vec::with_capacity(set.len());
    // Poll all by spawning none: drive them together with a simple join.
    let mut pending: Vec<_> = set.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for r in results {
        out.push(r.unwrap());
    }
    out
}
