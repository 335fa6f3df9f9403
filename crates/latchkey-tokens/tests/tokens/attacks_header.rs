//! Attacks on the token's shape and header. Each test builds the malicious
//! token itself, usually correctly signed by the key the verifier trusts,
//! so the refusal can only come from the rule under test.

use latchkey_tokens::{Algorithm, Header, MAX_TOKEN_LEN, TokenError};
use serde_json::json;

use crate::support::{
    b64, claims_json, forge, forge_header, forge_text, key, key_set, replace_part, verify,
};

#[test]
fn a_token_longer_than_8_kib_is_refused_before_decoding() {
    let set = key_set(Algorithm::EdDSA);
    let garbage = "!".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(verify(&set, &garbage), Err(TokenError::TooLong));

    let padded = forge(
        &key(Algorithm::EdDSA),
        &crate::support::header_for(&key(Algorithm::EdDSA)),
        &{
            let mut claims = claims_json();
            claims["pad"] = json!("x".repeat(MAX_TOKEN_LEN));
            claims
        },
    );
    assert_eq!(verify(&set, &padded), Err(TokenError::TooLong));
}

#[test]
fn tokens_that_are_not_exactly_three_parts_are_refused() {
    let set = key_set(Algorithm::EdDSA);
    let token = set.sign(&crate::support::claims()).unwrap();
    let (input, _) = token.rsplit_once('.').unwrap();
    for bad in [
        String::new(),
        input.to_owned(),
        format!("{token}."),
        format!("{token}.{}", b64("x")),
        token.replace('.', ""),
    ] {
        assert_eq!(verify(&set, &bad), Err(TokenError::NotThreeParts), "{bad}");
    }
}

#[test]
fn parts_that_are_not_canonical_base64url_are_refused() {
    let set = key_set(Algorithm::EdDSA);
    let token = set.sign(&crate::support::claims()).unwrap();
    let header = token.split('.').next().unwrap();
    let standard_alphabet = header.replace('-', "+").replace('_', "/") + "+";
    for bad_header in [
        format!("{header}="),
        format!("{header} "),
        standard_alphabet,
    ] {
        let bad = replace_part(&token, 0, &bad_header);
        assert_eq!(
            verify(&set, &bad),
            Err(TokenError::BadBase64),
            "{bad_header}"
        );
    }
}

#[test]
fn alg_none_is_refused_in_any_spelling() {
    let set = key_set(Algorithm::EdDSA);
    for none in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": none, "kid": "test-EdDSA", "typ": "at+jwt"});
        let input = format!(
            "{}.{}",
            b64(header.to_string()),
            b64(claims_json().to_string())
        );
        // The classic form has an empty signature; it is refused as such.
        assert_eq!(
            verify(&set, &format!("{input}.")),
            Err(TokenError::MissingSignature)
        );
        // With any signature bytes at all, `none` is refused by name.
        assert_eq!(
            verify(&set, &format!("{input}.{}", b64("sig"))),
            Err(TokenError::AlgNone)
        );
    }
}

#[test]
fn unsupported_or_missing_algorithms_are_refused() {
    let key = key(Algorithm::ES256);
    let set = key_set(Algorithm::ES256);
    for alg in ["HS512", "PS256", "es256", "ES256K", ""] {
        let token = forge_header(&key, |h| h["alg"] = json!(alg));
        assert_eq!(
            verify(&set, &token),
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    let missing = forge_header(&key, |h| drop(h.as_object_mut().unwrap().remove("alg")));
    assert_eq!(verify(&set, &missing), Err(TokenError::MissingAlgorithm));
    let numeric = forge_header(&key, |h| h["alg"] = json!(256));
    assert_eq!(verify(&set, &numeric), Err(TokenError::MalformedHeader));
}

#[test]
fn headers_carrying_their_own_key_are_refused() {
    let key = key(Algorithm::EdDSA);
    let set = key_set(Algorithm::EdDSA);
    let own_jwk = key.public_jwk().unwrap().clone();
    let cases = [
        ("jwk", own_jwk),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!(["MIIBszCCAVmgAwIBAgIU"])),
        ("x5t", json!("dGh1bWJwcmludA")),
        ("x5t#S256", json!("dGh1bWJwcmludA")),
    ];
    for (name, value) in cases {
        let token = forge_header(&key, |h| h[name] = value);
        assert_eq!(verify(&set, &token), Err(TokenError::EmbeddedKey), "{name}");
    }
}

#[test]
fn any_crit_header_is_refused() {
    let key = key(Algorithm::EdDSA);
    let set = key_set(Algorithm::EdDSA);
    for crit in [json!(["exp"]), json!([]), json!(["b64"]), json!("exp")] {
        let token = forge_header(&key, |h| h["crit"] = crit.clone());
        assert_eq!(
            verify(&set, &token),
            Err(TokenError::CriticalHeader),
            "{crit}"
        );
    }
}

#[test]
fn header_parameters_latchkey_never_issues_are_refused() {
    let key = key(Algorithm::EdDSA);
    let set = key_set(Algorithm::EdDSA);
    for (name, value) in [
        ("cty", json!("JWT")),
        ("zip", json!("DEF")),
        ("b64", json!(false)),
    ] {
        let token = forge_header(&key, |h| h[name] = value);
        assert_eq!(
            verify(&set, &token),
            Err(TokenError::UnexpectedHeaderParameter),
            "{name}"
        );
    }
}

#[test]
fn duplicate_header_parameters_are_refused() {
    let key = key(Algorithm::EdDSA);
    let set = key_set(Algorithm::EdDSA);
    let claims = claims_json().to_string();
    for header in [
        r#"{"alg":"EdDSA","kid":"test-EdDSA","typ":"at+jwt","alg":"none"}"#,
        r#"{"alg":"EdDSA","kid":"test-EdDSA","typ":"at+jwt","\u0061lg":"EdDSA"}"#,
        r#"{"alg":"EdDSA","kid":"test-EdDSA","typ":"at+jwt","kid":"test-EdDSA"}"#,
    ] {
        let token = forge_text(&key, header, &claims);
        assert_eq!(
            verify(&set, &token),
            Err(TokenError::DuplicateHeaderParameter),
            "{header}"
        );
    }
}

#[test]
fn headers_that_are_not_json_objects_are_refused() {
    let key = key(Algorithm::EdDSA);
    let set = key_set(Algorithm::EdDSA);
    let claims = claims_json().to_string();
    for header in ["", "[]", "null", "\"EdDSA\"", "{", r#"{"alg":"EdDSA"} x"#] {
        let token = forge_text(&key, header, &claims);
        assert_eq!(
            verify(&set, &token),
            Err(TokenError::MalformedHeader),
            "{header}"
        );
    }
}

#[test]
fn a_typ_other_than_at_jwt_is_refused() {
    let key = key(Algorithm::EdDSA);
    let set = key_set(Algorithm::EdDSA);
    for typ in [
        json!("JWT"),
        json!("application/jwt"),
        json!("at+jwt; x"),
        json!(null),
    ] {
        let token = forge_header(&key, |h| h["typ"] = typ.clone());
        assert_eq!(verify(&set, &token), Err(TokenError::WrongType), "{typ}");
    }
    let missing = forge_header(&key, |h| drop(h.as_object_mut().unwrap().remove("typ")));
    assert_eq!(verify(&set, &missing), Err(TokenError::WrongType));
}

#[test]
fn the_rfc_9068_typ_spellings_are_accepted() {
    let key = key(Algorithm::EdDSA);
    let set = key_set(Algorithm::EdDSA);
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+jwt",
    ] {
        let token = forge_header(&key, |h| h["typ"] = json!(typ));
        assert!(verify(&set, &token).is_ok(), "{typ}");
    }
}

#[test]
fn an_unknown_or_missing_kid_is_refused() {
    let key = key(Algorithm::EdDSA);
    let set = key_set(Algorithm::EdDSA);
    let unknown = forge_header(&key, |h| h["kid"] = json!("some-other-key"));
    assert_eq!(verify(&set, &unknown), Err(TokenError::UnknownKid));
    let missing = forge_header(&key, |h| drop(h.as_object_mut().unwrap().remove("kid")));
    assert_eq!(verify(&set, &missing), Err(TokenError::MissingKid));
}

#[test]
fn traversal_shaped_or_odd_kids_are_refused() {
    let key = key(Algorithm::EdDSA);
    let set = key_set(Algorithm::EdDSA);
    let long = "k".repeat(65);
    let kids = [
        json!("../../../../etc/passwd"),
        json!("keys/test-EdDSA"),
        json!("test-EdDSA\u{0}"),
        json!("test-EdDSA "),
        json!("test.EdDSA"),
        json!(""),
        json!(long),
        json!("tést"),
        json!(7),
        json!(["test-EdDSA"]),
    ];
    for kid in kids {
        let token = forge_header(&key, |h| h["kid"] = kid.clone());
        assert_eq!(verify(&set, &token), Err(TokenError::InvalidKid), "{kid}");
    }
}

#[test]
fn header_decoding_applies_the_same_rules_without_a_key() {
    let key = key(Algorithm::EdDSA);
    let token = key_set(Algorithm::EdDSA)
        .sign(&crate::support::claims())
        .unwrap();
    let header = Header::decode_unverified(&token).unwrap();
    assert_eq!(
        (header.alg(), header.kid().as_str()),
        (Algorithm::EdDSA, "test-EdDSA")
    );
    let jku = forge_header(&key, |h| h["jku"] = json!("https://attacker.example"));
    assert_eq!(
        Header::decode_unverified(&jku),
        Err(TokenError::EmbeddedKey)
    );
}
