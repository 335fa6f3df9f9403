//! The JWKS cache: fetched once, refetched for an unknown `kid` at most
//! once per interval (one fetch for a whole burst), kept when latchkey is
//! unreachable, refreshed when old.

use std::time::Duration;

use futures_util::future::join_all;
use latchkey_tokens::{Algorithm, KeySet, TokenError};
use latchkey_verify::{FetchError, JwksError, VerifyError};

use crate::support::{Latchkey, Mode, NOW, TestClock, key, verifier};

const UNKNOWN: Result<(), VerifyError> = Err(VerifyError::Token(TokenError::UnknownKid));

#[tokio::test]
async fn keys_are_fetched_once_and_then_cached() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    for _ in 0..10 {
        verifier.verify(&latchkey.token(NOW)).await.unwrap();
    }
    assert_eq!(latchkey.jwks_fetches(), 1);
}

#[tokio::test]
async fn an_unknown_kid_is_refused_after_one_refetch() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    verifier.verify(&latchkey.token(NOW)).await.unwrap();
    let stranger = Latchkey::start_with(KeySet::new(key(Algorithm::EdDSA, "stranger"))).await;
    let mut claims = stranger.claims(NOW);
    claims.iss = latchkey.base.clone();
    clock.advance(30);
    let result = verifier.verify(&stranger.sign(&claims)).await.map(drop);
    assert_eq!(result, UNKNOWN);
    assert_eq!(latchkey.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_a_refetch() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    let old_token = latchkey.token(NOW);
    verifier.verify(&old_token).await.unwrap();

    clock.advance(60);
    latchkey.rotate(key(Algorithm::ES256, "kid-2"), NOW + 60 + 300);
    let new_token = latchkey.token(clock.now());
    verifier.verify(&new_token).await.unwrap();
    assert_eq!(latchkey.jwks_fetches(), 2);
    // The previous key is still published, so its tokens still verify.
    verifier.verify(&old_token).await.unwrap();
    assert_eq!(latchkey.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_rotation_within_the_refetch_interval_is_seen_once_it_has_passed() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    verifier.verify(&latchkey.token(NOW)).await.unwrap();

    clock.advance(10);
    latchkey.rotate(key(Algorithm::EdDSA, "kid-2"), NOW + 600);
    let token = latchkey.token(clock.now());
    assert_eq!(verifier.verify(&token).await.map(drop), UNKNOWN);
    assert_eq!(
        latchkey.jwks_fetches(),
        1,
        "rate limited: no fetch 10 s after the last"
    );
    clock.advance(19);
    assert_eq!(verifier.verify(&token).await.map(drop), UNKNOWN);
    clock.advance(1);
    verifier.verify(&token).await.unwrap();
    assert_eq!(latchkey.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_burst_of_unknown_kids_costs_one_fetch_per_interval() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    verifier.verify(&latchkey.token(NOW)).await.unwrap();
    let forged: Vec<String> = (0..50)
        .map(|i| {
            let claims = latchkey.claims(NOW);
            latchkey.forge(|h| h["kid"] = format!("made-up-{i}").into(), &claims)
        })
        .collect();

    for round in 1..=3 {
        clock.advance(30);
        let results = join_all(forged.iter().map(|token| verifier.verify(token))).await;
        assert!(results.iter().all(|r| r.clone().map(drop) == UNKNOWN));
        assert_eq!(latchkey.jwks_fetches(), 1 + round, "round {round}");
        // More of the same within the interval: no fetch at all.
        clock.advance(29);
        let results = join_all(forged.iter().map(|token| verifier.verify(token))).await;
        assert!(results.iter().all(|r| r.clone().map(drop) == UNKNOWN));
        assert_eq!(latchkey.jwks_fetches(), 1 + round, "round {round}");
        clock.advance(-29);
    }
}

#[tokio::test]
async fn concurrent_tokens_of_a_new_key_share_one_fetch_and_are_all_accepted() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    // No rate limit: sharing the fetch is what keeps it to one.
    let mut config = latchkey.config();
    config.refetch_min_interval = Duration::ZERO;
    let verifier = verifier(config, &clock);
    verifier.verify(&latchkey.token(NOW)).await.unwrap();
    clock.advance(30);
    latchkey.rotate(key(Algorithm::EdDSA, "kid-2"), NOW + 600);
    let tokens: Vec<String> = (0..40).map(|_| latchkey.token(clock.now())).collect();

    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(latchkey.jwks_fetches(), 2);
}

#[tokio::test]
async fn while_latchkey_is_unreachable_known_keys_verify_and_unknown_ones_are_refused() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    verifier.verify(&latchkey.token(NOW)).await.unwrap();

    latchkey.set_jwks_mode(Mode::Status(503));
    let known = latchkey.token(NOW);
    latchkey.rotate(key(Algorithm::EdDSA, "kid-2"), NOW + 600);
    let unknown = latchkey.token(NOW);
    clock.advance(30);
    assert_eq!(verifier.verify(&unknown).await.map(drop), UNKNOWN);
    assert_eq!(latchkey.jwks_fetches(), 2, "it did try");
    verifier.verify(&known).await.unwrap();

    latchkey.set_jwks_mode(Mode::Up);
    clock.advance(30);
    verifier.verify(&unknown).await.unwrap();
}

#[tokio::test]
async fn a_verifier_started_before_latchkey_accepts_tokens_a_second_after_it_is_up() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    latchkey.set_jwks_mode(Mode::Status(502));
    let token = latchkey.token(NOW);
    assert_eq!(verifier.verify(&token).await.map(drop), UNKNOWN);
    assert_eq!(verifier.verify(&token).await.map(drop), UNKNOWN);
    assert_eq!(latchkey.jwks_fetches(), 1);

    latchkey.set_jwks_mode(Mode::Up);
    clock.advance(1);
    verifier.verify(&token).await.unwrap();
    assert_eq!(latchkey.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_key_dropped_from_the_jwks_is_refused_once_the_cache_is_old() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    let mut claims = latchkey.claims(NOW);
    claims.exp = NOW + 3600;
    let dropped = latchkey.sign(&claims);
    verifier.verify(&dropped).await.unwrap();

    // latchkey loses kid-1 (e.g. it was compromised and removed).
    latchkey.replace_keys(KeySet::new(key(Algorithm::EdDSA, "kid-2")));
    let mut claims = latchkey.claims(NOW);
    claims.exp = NOW + 3600;
    let long_lived = latchkey.sign(&claims);
    clock.advance(299);
    assert!(
        verifier.verify(&dropped).await.is_ok(),
        "cached for jwks_max_age"
    );
    clock.advance(1);
    assert_eq!(verifier.verify(&dropped).await.map(drop), UNKNOWN);
    verifier.verify(&long_lived).await.unwrap();
}

#[tokio::test]
async fn refresh_loads_keys_now_and_says_why_it_could_not() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    verifier.refresh().await.unwrap();
    assert_eq!(latchkey.jwks_fetches(), 1);
    verifier.verify(&latchkey.token(NOW)).await.unwrap();
    assert_eq!(latchkey.jwks_fetches(), 1);

    latchkey.set_jwks_mode(Mode::Status(500));
    let error = verifier.refresh().await.unwrap_err();
    assert_eq!(error, JwksError::Fetch(FetchError::Status(500)));
    latchkey.set_jwks_mode(Mode::Garbage);
    let error = verifier.refresh().await.unwrap_err();
    assert_eq!(error, JwksError::Fetch(FetchError::NotJson));
    // Failed refreshes keep the keys.
    verifier.verify(&latchkey.token(NOW)).await.unwrap();
}

#[tokio::test]
async fn a_hanging_jwks_endpoint_is_given_up_on_after_the_timeout() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let mut config = latchkey.config();
    config.jwks_timeout = Duration::from_millis(200);
    let verifier = verifier(config, &clock);
    latchkey.set_jwks_mode(Mode::Hang);
    let started = std::time::Instant::now();
    let error = verifier.refresh().await.unwrap_err();
    assert!(
        matches!(error, JwksError::Fetch(FetchError::Request(_))),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}
