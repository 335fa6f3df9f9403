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
    Assurance, PasswordHash, Session, SessionHandle, SessionPolicy, SessionSecret, Timestamp,
    UserId, Username,
};

use latchkey_core::refresh::{RefreshHash, RefreshSecret};
use latchkey_core::revocation::{Revocation, Target};

use crate::{Family, Keep, KeyRecord, RefreshOutcome, RevokeAt, Store, StoreError, User};

mod accounts;
mod admin;
mod assurance;
mod audit;
mod email;
mod errors;
mod federation;
mod groups;
mod mfa;
mod passkeys;
mod regressions;
mod sessions;
mod tokens;
mod webhooks;
pub use accounts::*;
pub use admin::*;
pub use assurance::*;
pub use audit::*;
pub use email::*;
pub use errors::*;
pub use federation::*;
pub use groups::*;
pub use mfa::*;
pub use passkeys::*;
pub use regressions::*;
pub use sessions::*;
pub use tokens::*;
pub use webhooks::*;

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
            concurrent_refreshes_of_many_families_each_get_their_own_outcome,
            refreshes_abandoned_midway_rotate_whole_or_not_at_all,
            refresh_family_lifetime_is_absolute,
            families_revoke_and_sweep,
            revocation_log_is_incremental_and_pruned,
            revocation_log_longer_than_a_page_is_read_whole,
            first_key_is_stored_once_and_rotation_retires_it,
            ping_answers,
            mfa_totp_enrolment_is_pending_until_confirmed,
            mfa_a_totp_step_is_accepted_once_and_only_forward,
            mfa_recovery_codes_are_single_use_and_regenerating_voids_the_old_set,
            mfa_pending_logins_finish_once_with_an_accepted_proof,
            mfa_pending_logins_end_at_the_last_attempt_and_expire,
            mfa_removing_second_factors_removes_codes_and_pending_logins,
            i9_04_refresh_grace_cannot_walk_the_chain,
            i9_13_the_first_issuer_is_recorded_and_kept,
            i9_15_an_unsealed_key_is_sealed_once,
            errors_a_family_for_an_unknown_user_is_a_conflict,
            errors_a_taken_key_id_is_a_conflict,
            errors_a_closed_store_is_unavailable,
            passkeys_are_listed_per_user_and_credentials_are_unique,
            passkey_use_needs_a_counter_that_moved_forward,
            concurrent_uses_with_one_counter_record_one,
            passkeys_are_deleted_only_by_their_owner,
            ceremonies_are_taken_once_as_their_kind_before_expiry,
            concurrent_takes_of_a_ceremony_yield_one,
            ceremonies_are_bounded_and_swept,
            assurance_a_user_without_a_password_reads_back_as_none,
            assurance_sessions_and_families_keep_amr_and_auth_time,
            assurance_step_up_raises_a_session,
            assurance_step_up_raises_a_live_family_only,
            assurance_concurrent_step_ups_keep_every_method,
            admin_keys_are_found_by_hash_until_revoked,
            users_are_listed_by_name_page_by_page_and_searched,
            disabling_a_user_ends_everything_in_one_transaction,
            deleting_a_user_keeps_the_revocations_of_what_they_held,
            audit_events_are_read_by_user_type_and_position,
            audit_events_are_read_newest_first_and_outlive_their_user,
            audit_events_are_swept_after_retention,
            audit_an_event_recorded_with_a_change_is_there_exactly_when_the_change_is,
            families_are_listed_live_with_their_device_and_last_use,
            groups_are_per_user_sorted_and_idempotent,
            groups_of_an_unknown_user_are_a_conflict,
            oidc_identities_are_unique_per_provider_subject,
            oidc_a_federated_user_is_created_with_its_identity_or_not_at_all,
            oidc_logins_are_found_by_subject_or_sid_until_they_expire,
            oidc_a_logout_token_is_used_once_even_concurrently,
            oidc_concurrent_callbacks_take_a_pending_authorisation_once,
            email_addresses_are_unique_by_domain_case_and_kept_as_entered,
            email_a_user_created_with_a_taken_address_is_not_stored,
            email_tokens_are_taken_once_as_their_kind_before_expiry,
            email_concurrent_takes_of_a_token_yield_one,
            email_codes_end_at_the_last_wrong_try,
            email_outbox_rows_are_claimed_once_and_finish,
            webhooks_deliveries_are_queued_with_their_event_or_not_at_all,
            webhooks_deliveries_are_claimed_once_under_a_lease,
            webhooks_retries_wait_their_turn_and_failures_are_kept,
            webhooks_done_deliveries_are_swept_and_go_with_their_event
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
        password_hash: Some(PasswordHash::from_stored(format!(
            "$argon2id$v=19$m=19456,t=2,p=1$h{n}"
        ))),
        created_at: t(0),
        disabled_at: None,
    };
    store.create_user(&u).await.unwrap();
    u
}

async fn session(store: &dyn Store, u: &User, n: u8, at: i64) -> (SessionSecret, Session) {
    let secret = SessionSecret::from_random([n; 32]);
    let s = Session {
        assurance: Assurance::new(["pwd"], t(at)),
        ..policy().start(
            SessionHandle::from_random([n; 16]),
            u.id,
            t(at),
            n.is_multiple_of(2),
            Some("conformance/1.0"),
            Some("192.0.2.1".into()),
        )
    };
    store.create_session(&secret.hash(), &s).await.unwrap();
    (secret, s)
}

const TTL: Duration = Duration::from_secs(300);
const GRACE: Duration = Duration::from_secs(10);

fn at(ms: i64) -> RevokeAt<'static> {
    RevokeAt::new(t(ms), TTL)
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
        assurance: Assurance::new(["pwd"], t(at_ms)),
        kind: "tokens".into(),
        user_agent: None,
        ip: None,
        last_used_at: t(at_ms),
    };
    store.create_family(&f, &first).await.unwrap();
    first
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
