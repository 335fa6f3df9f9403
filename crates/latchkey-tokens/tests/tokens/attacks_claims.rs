//! Attacks on the claims, all correctly signed by the trusted key: the
//! signature is fine, the content is not.

use latchkey_tokens::{Algorithm, TokenError};
use serde_json::{Value, json};

use crate::support::{
    AUDIENCE, NOW, claims, expectations, forge_claims, forge_text, header_for, key, key_set, verify,
};

fn refused_with(edit: impl FnOnce(&mut Value)) -> Result<(), TokenError> {
    let token = forge_claims(&key(Algorithm::EdDSA), edit);
    verify(&key_set(Algorithm::EdDSA), &token).map(|_| ())
}

/// CVE-2026-25537: jsonwebtoken < 10.3 skipped expiry when `exp` was a
/// string. Here a string time is a type error, never "no expiry".
#[test]
fn string_exp_is_refused_cve_2026_25537() {
    let refused = refused_with(|c| c["exp"] = json!("9999999999"));
    assert_eq!(refused, Err(TokenError::InvalidClaim("exp")));
    // The same trick on an already expired token.
    let expired = refused_with(|c| c["exp"] = json!((NOW - 10).to_string()));
    assert_eq!(expired, Err(TokenError::InvalidClaim("exp")));
}

#[test]
fn string_nbf_or_iat_is_refused() {
    let nbf = refused_with(|c| c["nbf"] = json!((NOW + 3600).to_string()));
    assert_eq!(nbf, Err(TokenError::InvalidClaim("nbf")));
    let iat = refused_with(|c| c["iat"] = json!(NOW.to_string()));
    assert_eq!(iat, Err(TokenError::InvalidClaim("iat")));
}

#[test]
fn times_that_are_not_64_bit_integers_are_refused() {
    for bad in [
        json!(1.8e9),
        json!(1_800_000_300.5),
        json!(null),
        json!(true),
        json!(u64::MAX),
    ] {
        let refused = refused_with(|c| c["exp"] = bad.clone());
        assert_eq!(refused, Err(TokenError::InvalidClaim("exp")), "{bad}");
    }
}

#[test]
fn missing_required_claims_are_refused() {
    for name in ["iss", "sub", "aud", "exp", "iat", "jti", "sid"] {
        let refused = refused_with(|c| drop(c.as_object_mut().unwrap().remove(name)));
        assert_eq!(refused, Err(TokenError::MissingClaim(name)), "{name}");
    }
}

#[test]
fn string_claims_of_another_type_are_refused() {
    for name in ["iss", "sub", "jti", "sid"] {
        let refused = refused_with(|c| c[name] = json!(42));
        assert_eq!(refused, Err(TokenError::InvalidClaim(name)), "{name}");
    }
    let aud = refused_with(|c| c["aud"] = json!({"aud": AUDIENCE}));
    assert_eq!(aud, Err(TokenError::InvalidClaim("aud")));
}

#[test]
fn a_wrong_issuer_is_refused() {
    for iss in [
        "https://attacker.example",
        "https://latchkey.test/",
        "HTTPS://LATCHKEY.TEST",
        "",
    ] {
        let refused = refused_with(|c| c["iss"] = json!(iss));
        assert_eq!(refused, Err(TokenError::WrongIssuer), "{iss}");
    }
}

#[test]
fn a_wrong_audience_is_refused() {
    for aud in [
        json!("other-api"),
        json!(["other-api", "more"]),
        json!([]),
        json!("Latchkey"),
    ] {
        let refused = refused_with(|c| c["aud"] = aud.clone());
        assert_eq!(refused, Err(TokenError::WrongAudience), "{aud}");
    }
}

#[test]
fn an_audience_array_containing_ours_is_accepted() {
    let token = forge_claims(&key(Algorithm::EdDSA), |c| {
        c["aud"] = json!(["other", AUDIENCE])
    });
    let accepted = verify(&key_set(Algorithm::EdDSA), &token).unwrap();
    assert_eq!(accepted.aud, AUDIENCE);
}

#[test]
fn a_token_is_expired_from_its_exp_second_on() {
    let set = key_set(Algorithm::EdDSA);
    let token = set.sign(&claims()).unwrap();
    let exp = claims().exp;
    let verifier = set.verifier();
    assert!(verifier.verify(&token, &expectations(), exp - 1).is_ok());
    assert_eq!(
        verifier.verify(&token, &expectations(), exp),
        Err(TokenError::Expired)
    );
    assert_eq!(
        verifier.verify(&token, &expectations(), exp + 1),
        Err(TokenError::Expired)
    );
    let lenient = expectations().with_leeway(30);
    assert!(verifier.verify(&token, &lenient, exp + 29).is_ok());
    assert_eq!(
        verifier.verify(&token, &lenient, exp + 30),
        Err(TokenError::Expired)
    );
}

#[test]
fn a_token_before_its_nbf_is_refused() {
    let refused = refused_with(|c| c["nbf"] = json!(NOW + 1));
    assert_eq!(refused, Err(TokenError::NotYetValid));
    assert_eq!(refused_with(|c| c["nbf"] = json!(NOW)), Ok(()));
}

#[test]
fn a_token_issued_in_the_future_is_refused() {
    let refused = refused_with(|c| c["iat"] = json!(NOW + 3600));
    assert_eq!(refused, Err(TokenError::IssuedInFuture));
    let token = forge_claims(&key(Algorithm::EdDSA), |c| c["iat"] = json!(NOW + 5));
    let lenient = expectations().with_leeway(5);
    assert!(
        key_set(Algorithm::EdDSA)
            .verifier()
            .verify(&token, &lenient, NOW)
            .is_ok()
    );
}

#[test]
fn duplicate_claims_are_refused() {
    let key = key(Algorithm::EdDSA);
    let header = header_for(&key).to_string();
    let payload = format!(
        r#"{{"iss":"https://latchkey.test","sub":"user-1","aud":"latchkey","exp":{},"iat":{NOW},"jti":"j","sid":"s","exp":{}}}"#,
        NOW - 1,
        NOW + 300
    );
    let token = forge_text(&key, &header, &payload);
    assert_eq!(
        verify(&key_set(Algorithm::EdDSA), &token),
        Err(TokenError::DuplicateClaim)
    );
}

#[test]
fn a_payload_that_is_not_a_json_object_is_refused() {
    let key = key(Algorithm::EdDSA);
    let header = header_for(&key).to_string();
    for payload in ["Example of Ed25519 signing", "[]", "", "{\"exp\":1"] {
        let token = forge_text(&key, &header, payload);
        assert_eq!(
            verify(&key_set(Algorithm::EdDSA), &token),
            Err(TokenError::MalformedClaims),
            "{payload}"
        );
    }
}

#[test]
fn unknown_claims_are_ignored() {
    let token = forge_claims(&key(Algorithm::EdDSA), |c| {
        c["scope"] = json!("read write");
        c["admin"] = json!(true);
    });
    assert_eq!(verify(&key_set(Algorithm::EdDSA), &token), Ok(claims()));
}
