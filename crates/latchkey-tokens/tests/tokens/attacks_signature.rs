//! Attacks on the signature and on how a key is chosen: stripped and
//! altered signatures, algorithm confusion, degenerate ECDSA signatures,
//! and keys that were rotated out.

use latchkey_tokens::{Algorithm, KeySet, TokenError, verify_signature_only};
use serde_json::json;

use crate::support::{
    NOW, b64, claims, claims_json, expectations, forge, forge_header, hmac_sign, key, key_with_kid,
    other_key, replace_part, signing_input, unb64, verify,
};

#[test]
fn a_stripped_signature_is_refused() {
    for alg in Algorithm::ALL {
        let set = KeySet::new(key(alg));
        let token = set.sign(&claims()).unwrap();
        let stripped = replace_part(&token, 2, "");
        assert_eq!(
            verify(&set, &stripped),
            Err(TokenError::MissingSignature),
            "{alg}"
        );
    }
}

#[test]
fn altered_truncated_or_foreign_signatures_are_refused() {
    for alg in Algorithm::ALL {
        let set = KeySet::new(key(alg));
        let token = set.sign(&claims()).unwrap();
        let signature = unb64(token.rsplit('.').next().unwrap());

        let mut flipped = signature.clone();
        flipped[signature.len() / 2] ^= 0x01;
        let truncated = &signature[..signature.len() - 1];
        let doubled = [&signature[..], &signature[..]].concat();
        for bad in [flipped.as_slice(), truncated, &doubled, &[0u8; 1]] {
            let forged = replace_part(&token, 2, &b64(bad));
            assert_eq!(
                verify(&set, &forged),
                Err(TokenError::InvalidSignature),
                "{alg}"
            );
        }

        let stranger = other_key(alg, &format!("test-{alg}"));
        let foreign = KeySet::new(stranger).sign(&claims()).unwrap();
        assert_eq!(
            verify(&set, &foreign),
            Err(TokenError::InvalidSignature),
            "{alg}"
        );
    }
}

#[test]
fn a_signature_over_different_claims_is_refused() {
    let set = KeySet::new(key(Algorithm::EdDSA));
    let token = set.sign(&claims()).unwrap();
    let mut admin = claims_json();
    admin["sub"] = json!("admin");
    let swapped = replace_part(&token, 1, &b64(admin.to_string()));
    assert_eq!(verify(&set, &swapped), Err(TokenError::InvalidSignature));
}

#[test]
fn hs256_tokens_signed_with_a_public_key_are_refused() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
        let victim = key(alg);
        let set = KeySet::new(key(alg));
        let header = json!({"alg": "HS256", "kid": victim.kid().as_str(), "typ": "at+jwt"});
        let input = signing_input(&header.to_string(), &claims_json().to_string());
        let jwk = victim.public_jwk().unwrap();
        // Every form of the public key an attacker could use as an HMAC secret.
        let secrets = [
            jwk.to_string().into_bytes(),
            json!({"keys": [jwk]}).to_string().into_bytes(),
            unb64(jwk.get("x").or(jwk.get("n")).unwrap().as_str().unwrap()),
        ];
        for secret in secrets {
            let token = format!("{input}.{}", b64(hmac_sign(&secret, input.as_bytes())));
            assert_eq!(
                verify(&set, &token),
                Err(TokenError::AlgorithmMismatch),
                "{alg}"
            );
            let signature_only = verify_signature_only(&token, victim.verification_key());
            assert_eq!(signature_only, Err(TokenError::AlgorithmMismatch), "{alg}");
        }
    }
}

#[test]
fn the_algorithm_comes_from_the_key_not_the_token() {
    let ed = key(Algorithm::EdDSA);
    let es = key(Algorithm::ES256);
    let set = KeySet::new(key(Algorithm::EdDSA))
        .with_previous(key(Algorithm::ES256), NOW + 3600)
        .unwrap();
    // Correctly signed by the EdDSA key, but the header claims ES256.
    let relabelled = forge_header(&ed, |h| h["alg"] = json!("ES256"));
    assert_eq!(
        verify(&set, &relabelled),
        Err(TokenError::AlgorithmMismatch)
    );
    // Signed by the ES256 key, naming the EdDSA key's kid.
    let wrong_kid = forge_header(&es, |h| h["kid"] = json!(ed.kid().as_str()));
    assert_eq!(verify(&set, &wrong_kid), Err(TokenError::AlgorithmMismatch));
    // Same key bytes under another algorithm's kid cannot verify either.
    let hs = key_with_kid(Algorithm::HS256, "test-EdDSA");
    let hs_token = forge(
        &hs,
        &json!({"alg":"HS256","kid":"test-EdDSA","typ":"at+jwt"}),
        &claims_json(),
    );
    assert_eq!(verify(&set, &hs_token), Err(TokenError::AlgorithmMismatch));
}

#[test]
fn ecdsa_signatures_with_r_or_s_zero_are_refused() {
    let set = KeySet::new(key(Algorithm::ES256));
    let token = set.sign(&claims()).unwrap();
    let real = unb64(token.rsplit('.').next().unwrap());
    let order = unb64("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE");
    let zero = [0u8; 32];
    let cases = [
        [zero, zero].concat(),
        [&zero[..], &real[32..]].concat(),
        [&real[..32], &zero[..]].concat(),
        [&order[..], &real[32..]].concat(),
        [&real[..32], &order[..]].concat(),
        [[0xff; 32], [0xff; 32]].concat(),
    ];
    for signature in cases {
        let forged = replace_part(&token, 2, &b64(&signature));
        assert_eq!(verify(&set, &forged), Err(TokenError::DegenerateSignature));
    }
}

#[test]
fn a_rotated_out_key_is_refused_after_its_not_after() {
    let mut set = KeySet::new(key(Algorithm::EdDSA));
    let mut long_lived = claims();
    long_lived.exp = NOW + 86_400;
    let old_token = set.sign(&long_lived).unwrap();
    set.rotate(key(Algorithm::ES256), NOW + 600).unwrap();

    let verifier = set.verifier();
    assert!(
        verifier
            .verify(&old_token, &expectations(), NOW + 600)
            .is_ok()
    );
    assert_eq!(
        verifier.verify(&old_token, &expectations(), NOW + 601),
        Err(TokenError::KeyRetired)
    );
    set.prune(NOW + 601);
    assert_eq!(
        set.verifier()
            .verify(&old_token, &expectations(), NOW + 601),
        Err(TokenError::UnknownKid)
    );
}
