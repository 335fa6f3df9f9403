//! The token checks against locally made keys and tokens: each refusal
//! is an attack a provider's token (or a forger's) could attempt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openidconnect::core::CoreJsonWebKeySet;
use serde_json::{Value, json};

use super::*;

const ISS: &str = "https://idp.example.com";
const AUD: &str = "latchkey";
const NOW: i64 = 1_800_000_000;

struct Key {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

fn key() -> Key {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    Key {
        pkcs8: pkcs8.as_ref().to_vec(),
        public: pair.public_key().as_ref().to_vec(),
    }
}

fn jwks(keys: &[(&str, &Key)]) -> CoreJsonWebKeySet {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, k)| {
            json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                   "kid": kid, "x": URL_SAFE_NO_PAD.encode(&k.public)})
        })
        .collect();
    serde_json::from_value(json!({ "keys": keys })).unwrap()
}

fn sign(k: &Key, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&k.pkcs8)).unwrap()
}

fn id_claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "user-1", "sid": "op-session",
           "nonce": "n-1", "iat": NOW, "exp": NOW + 300,
           "preferred_username": "ada", "email": "ada@example.com"})
}

fn expected() -> Expected<'static> {
    Expected {
        issuer: ISS,
        client_id: AUD,
        skew: 60,
        max_age: 600,
    }
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

#[test]
fn a_good_id_token_yields_its_subject_session_and_claims() {
    let k = key();
    let token = sign(&k, "k1", &id_claims());
    let got = id_token(&jwks(&[("k1", &k)]), &expected(), &token, "n-1", NOW).unwrap();
    assert_eq!(got.subject, "user-1");
    assert_eq!(got.sid.as_deref(), Some("op-session"));
    assert_eq!(got.text("preferred_username"), Some("ada"));
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    let (good, forger) = (key(), key());
    let keys = jwks(&[("k1", &good)]);
    // The forger claims the provider's kid.
    let forged = sign(&forger, "k1", &id_claims());
    assert_eq!(
        id_token(&keys, &expected(), &forged, "n-1", NOW),
        Err(Refusal::Invalid("signature"))
    );
    // An unknown kid asks for a refetch (rate limited by the caller).
    let unknown = sign(&forger, "k9", &id_claims());
    assert_eq!(
        id_token(&keys, &expected(), &unknown, "n-1", NOW),
        Err(Refusal::NoMatchingKey)
    );
}

#[test]
fn a_wrong_or_missing_nonce_is_refused() {
    let k = key();
    let keys = jwks(&[("k1", &k)]);
    let token = sign(&k, "k1", &id_claims());
    assert_eq!(
        id_token(&keys, &expected(), &token, "n-2", NOW),
        Err(Refusal::Invalid("nonce"))
    );
    let no_nonce = sign(&k, "k1", &without(id_claims(), "nonce"));
    assert_eq!(
        id_token(&keys, &expected(), &no_nonce, "n-1", NOW),
        Err(Refusal::Invalid("nonce"))
    );
}

#[test]
fn none_and_hmac_are_never_accepted() {
    let k = key();
    let keys = jwks(&[("k1", &k)]);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    // HMAC keyed with the public key (the classic confusion).
    let hs =
        jsonwebtoken::encode(&header, &id_claims(), &EncodingKey::from_secret(&k.public)).unwrap();
    assert!(id_token(&keys, &expected(), &hs, "n-1", NOW).is_err());
    assert!(logout_token(&keys, &expected(), &hs, NOW).is_err());
    let payload = URL_SAFE_NO_PAD.encode(id_claims().to_string());
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#)
    );
    assert!(id_token(&keys, &expected(), &none, "n-1", NOW).is_err());
    assert!(logout_token(&keys, &expected(), &none, NOW).is_err());
}

#[test]
fn issuer_audience_and_authorized_party_are_checked() {
    let k = key();
    let keys = jwks(&[("k1", &k)]);
    let check = |claims: Value| id_token(&keys, &expected(), &sign(&k, "k1", &claims), "n-1", NOW);
    assert_eq!(
        check(with(id_claims(), "iss", json!("https://evil.example"))),
        Err(Refusal::Invalid("iss"))
    );
    assert_eq!(
        check(with(id_claims(), "aud", json!("other-client"))),
        Err(Refusal::Invalid("aud"))
    );
    // Several audiences need azp naming us (and other audiences refused).
    let several = with(id_claims(), "aud", json!([AUD, "other"]));
    assert!(check(several.clone()).is_err());
    assert!(check(with(several, "azp", json!("other"))).is_err());
    assert_eq!(
        check(with(id_claims(), "azp", json!("other"))),
        Err(Refusal::Invalid("azp is another client"))
    );
    assert!(check(with(id_claims(), "azp", json!(AUD))).is_ok());
}

#[test]
fn times_are_checked_with_bounded_skew() {
    let k = key();
    let keys = jwks(&[("k1", &k)]);
    let check = |claims: Value| id_token(&keys, &expected(), &sign(&k, "k1", &claims), "n-1", NOW);
    // Expired 30 s ago: within the skew. 90 s ago: refused.
    assert!(check(with(id_claims(), "exp", json!(NOW - 30))).is_ok());
    assert!(check(with(id_claims(), "exp", json!(NOW - 90))).is_err());
    // Issued in the future beyond the skew, or too long ago: refused.
    assert!(check(with(id_claims(), "iat", json!(NOW + 120))).is_err());
    let old = with(
        with(id_claims(), "iat", json!(NOW - 3600)),
        "exp",
        json!(NOW + 60),
    );
    assert!(check(old).is_err());
}

fn logout_claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "user-1", "sid": "op-session",
           "iat": NOW, "exp": NOW + 120, "jti": "j-1",
           "events": {BACKCHANNEL_LOGOUT_EVENT: {}}})
}

#[test]
fn a_logout_token_needs_the_event_a_jti_and_no_nonce() {
    let k = key();
    let keys = jwks(&[("k1", &k)]);
    let check = |claims: Value| logout_token(&keys, &expected(), &sign(&k, "k1", &claims), NOW);
    let ok = check(logout_claims()).unwrap();
    assert_eq!(
        (ok.jti.as_str(), ok.sid.as_deref()),
        ("j-1", Some("op-session"))
    );
    assert_eq!(
        check(without(logout_claims(), "events")),
        Err(Refusal::Invalid("events"))
    );
    assert_eq!(
        check(without(logout_claims(), "jti")),
        Err(Refusal::Invalid("jti"))
    );
    assert_eq!(
        check(with(logout_claims(), "nonce", json!("n"))),
        Err(Refusal::Invalid("nonce is forbidden"))
    );
    let anonymous = without(without(logout_claims(), "sub"), "sid");
    assert_eq!(
        check(anonymous),
        Err(Refusal::Invalid("sub or sid is required"))
    );
    assert_eq!(
        check(with(logout_claims(), "aud", json!("other"))),
        Err(Refusal::Invalid("aud"))
    );
    assert_eq!(
        check(with(logout_claims(), "exp", json!(NOW - 120))),
        Err(Refusal::Invalid("exp"))
    );
    // An ID token is never a logout token.
    assert!(check(id_claims()).is_err());
    // Another key under the provider's kid: refused.
    let forged = sign(&key(), "k1", &logout_claims());
    assert_eq!(
        logout_token(&keys, &expected(), &forged, NOW),
        Err(Refusal::Invalid("signature"))
    );
}
