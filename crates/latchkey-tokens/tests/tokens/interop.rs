//! Interoperability with an independent implementation (jsonwebtoken 11,
//! aws-lc-rs backend): our tokens and JWKs are readable by it, and its
//! tokens pass our verifier. Its own expiry checks are off because they
//! read the clock; the claims are checked by our side of each test.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, EncodingKey, Validation, decode, encode};
use latchkey_tokens::{AccessClaims, Algorithm, KeyMaterial, KeySet};

use crate::support::{AUDIENCE, ISSUER, claims, key, verify};

fn their_algorithm(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
    }
}

fn their_validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(their_algorithm(alg));
    validation.validate_exp = false;
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation
}

fn their_decoding_key(key: &KeyMaterial) -> DecodingKey {
    match key.public_jwk() {
        Some(jwk) => {
            let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
            DecodingKey::from_jwk(&jwk).unwrap()
        }
        None => DecodingKey::from_secret(&key.to_stored().private),
    }
}

#[test]
fn tokens_we_issue_verify_with_jsonwebtoken_using_our_published_jwks() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let token = KeySet::new(crate::support::key(alg))
            .sign(&claims())
            .unwrap();
        let decoded =
            decode::<AccessClaims>(&token, &their_decoding_key(&key), &their_validation(alg))
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(decoded.claims, claims(), "{alg}");
        assert_eq!(decoded.header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(decoded.header.kid.as_deref(), Some(key.kid().as_str()));
    }
}

/// RS256 is left out: jsonwebtoken's RSA signer takes PKCS#1 DER only and
/// latchkey stores PKCS#8 (the reason it is not our signer either).
#[test]
fn tokens_jsonwebtoken_issues_with_our_keys_pass_our_verifier() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::HS256] {
        let key = key(alg);
        let private = key.to_stored().private.clone();
        let encoding = match alg {
            Algorithm::EdDSA => EncodingKey::from_ed_der(&private),
            Algorithm::ES256 => EncodingKey::from_ec_der(&private),
            _ => EncodingKey::from_secret(&private),
        };
        let mut header = jsonwebtoken::Header::new(their_algorithm(alg));
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(key.kid().as_str().to_owned());
        let token = encode(&header, &claims(), &encoding).unwrap();
        assert_eq!(verify(&KeySet::new(key), &token), Ok(claims()), "{alg}");
    }
}
