//! The local checks: what a resource server relies on without asking
//! latchkey anything but its keys.

use latchkey_tokens::{Algorithm, TokenError};
use latchkey_verify::VerifyError;
use serde_json::json;

use crate::support::{Latchkey, NOW, TestClock, b64, key, verifier};

fn refused(reason: TokenError) -> Result<(), VerifyError> {
    Err(VerifyError::Token(reason))
}

#[tokio::test]
async fn a_valid_token_is_accepted_with_its_claims() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    let claims = latchkey.claims(NOW);
    let accepted = verifier.verify(&latchkey.sign(&claims)).await.unwrap();
    assert_eq!(accepted, claims);
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    let mut claims = latchkey.claims(NOW);
    claims.iss = "http://elsewhere.example".into();
    let result = verifier.verify(&latchkey.sign(&claims)).await.map(drop);
    assert_eq!(result, refused(TokenError::WrongIssuer));
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    let mut claims = latchkey.claims(NOW);
    claims.aud = "billing-api".into();
    let result = verifier.verify(&latchkey.sign(&claims)).await.map(drop);
    assert_eq!(result, refused(TokenError::WrongAudience));
}

#[tokio::test]
async fn a_signed_jwt_that_is_not_an_access_token_is_refused() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    let claims = latchkey.claims(NOW);
    for typ in [json!("JWT"), json!("id_token+jwt")] {
        let token = latchkey.forge(|h| h["typ"] = typ.clone(), &claims);
        let result = verifier.verify(&token).await.map(drop);
        assert_eq!(result, refused(TokenError::WrongType), "{typ}");
    }
    let untyped = latchkey.forge(|h| drop(h.as_object_mut().unwrap().remove("typ")), &claims);
    let result = verifier.verify(&untyped).await.map(drop);
    assert_eq!(result, refused(TokenError::WrongType));
}

#[tokio::test]
async fn a_token_is_refused_from_its_exp_second_on() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    let token = latchkey.token(NOW);
    clock.advance(299);
    assert!(verifier.verify(&token).await.is_ok());
    clock.advance(1);
    let result = verifier.verify(&token).await.map(drop);
    assert_eq!(result, refused(TokenError::Expired));
}

#[tokio::test]
async fn the_configured_leeway_extends_exp_by_exactly_that_much() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW + 300);
    let mut config = latchkey.config();
    config.leeway = std::time::Duration::from_secs(5);
    let verifier = verifier(config, &clock);
    let token = latchkey.token(NOW);
    clock.advance(4);
    assert!(verifier.verify(&token).await.is_ok());
    clock.advance(1);
    let result = verifier.verify(&token).await.map(drop);
    assert_eq!(result, refused(TokenError::Expired));
}

#[tokio::test]
async fn an_unsigned_token_is_refused_without_fetching_keys() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    let payload = serde_json::to_string(&latchkey.claims(NOW)).unwrap();
    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "kid": "kid-1", "typ": "at+jwt"}).to_string();
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64("sig"));
        let result = verifier.verify(&token).await.map(drop);
        assert_eq!(result, refused(TokenError::AlgNone), "{alg}");
        let stripped = format!("{}.{}.", b64(&header), b64(&payload));
        assert!(verifier.verify(&stripped).await.is_err());
    }
    assert_eq!(latchkey.jwks_fetches(), 0);
}

#[tokio::test]
async fn the_algorithm_is_the_keys_not_the_tokens() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    let claims = latchkey.claims(NOW);
    // The Ed25519 key's kid, with another algorithm named in the header.
    for alg in ["HS256", "ES256", "RS256"] {
        let token = latchkey.forge(|h| h["alg"] = json!(alg), &claims);
        let result = verifier.verify(&token).await.map(drop);
        assert_eq!(result, refused(TokenError::AlgorithmMismatch), "{alg}");
    }
}

#[tokio::test]
async fn a_token_signed_by_a_key_latchkey_never_published_is_refused() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    // Same kid as latchkey's key, different key: the signature fails.
    let impostor =
        Latchkey::start_with(latchkey_tokens::KeySet::new(key(Algorithm::EdDSA, "kid-1"))).await;
    let mut claims = latchkey.claims(NOW);
    claims.iss = latchkey.base.clone();
    let result = verifier.verify(&impostor.sign(&claims)).await.map(drop);
    assert_eq!(result, refused(TokenError::InvalidSignature));
}

#[tokio::test]
async fn garbage_is_refused_without_fetching_keys() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config(), &clock);
    for garbage in ["", "abc", "a.b.c", "a.b", &"x".repeat(10_000)] {
        assert!(verifier.verify(garbage).await.is_err(), "{garbage:.20}");
    }
    assert_eq!(latchkey.jwks_fetches(), 0);
}
