//! What the issuing server relies on: sign → verify for every algorithm,
//! the JWKS, stored and sealed keys, rotation, and secrets that never show.

use latchkey_tokens::{
    Algorithm, KeyError, KeyMaterial, KeySet, Kid, SealError, StoredKey, TokenError, Verifier,
    open, seal,
};
use serde_json::{Value, json};

use crate::support::{NOW, b64, claims, expectations, key, other_key, unb64, verify};

const MASTER_KEY: [u8; 32] = [7; 32];

#[test]
fn every_algorithm_signs_tokens_that_verify_to_the_same_claims() {
    for alg in Algorithm::ALL {
        let set = KeySet::new(key(alg));
        let token = set.sign(&claims()).unwrap();
        assert_eq!(verify(&set, &token), Ok(claims()), "{alg}");
    }
}

#[test]
fn issued_tokens_carry_exactly_alg_kid_and_typ() {
    for alg in Algorithm::ALL {
        let token = KeySet::new(key(alg)).sign(&claims()).unwrap();
        let header = String::from_utf8(unb64(token.split('.').next().unwrap())).unwrap();
        let expected = format!(r#"{{"alg":"{alg}","kid":"test-{alg}","typ":"at+jwt"}}"#);
        assert_eq!(header, expected);
    }
}

#[test]
fn nbf_round_trips_when_present() {
    let set = KeySet::new(key(Algorithm::EdDSA));
    let with_nbf = latchkey_tokens::AccessClaims {
        nbf: Some(NOW),
        ..claims()
    };
    let token = set.sign(&with_nbf).unwrap();
    assert_eq!(verify(&set, &token), Ok(with_nbf));
}

#[test]
fn claims_too_large_for_a_token_are_refused_at_signing() {
    let set = KeySet::new(key(Algorithm::EdDSA));
    let huge = latchkey_tokens::AccessClaims {
        sub: "x".repeat(9000),
        ..claims()
    };
    assert_eq!(set.sign(&huge), Err(latchkey_tokens::SignError::TooLong));
}

#[test]
fn jwks_lists_public_keys_only() {
    let set = KeySet::new(key(Algorithm::EdDSA))
        .with_previous(key(Algorithm::ES256), NOW + 60)
        .unwrap()
        .with_previous(key(Algorithm::RS256), NOW + 60)
        .unwrap()
        .with_previous(key(Algorithm::HS256), NOW + 60)
        .unwrap();
    let jwks = set.jwks();
    let keys = jwks["keys"].as_array().unwrap();
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["test-EdDSA", "test-ES256", "test-RS256"]);
    let expected_members = [
        json!(["alg", "crv", "kid", "kty", "use", "x"]),
        json!(["alg", "crv", "kid", "kty", "use", "x", "y"]),
        json!(["alg", "e", "kid", "kty", "n", "use"]),
    ];
    for (jwk, members) in keys.iter().zip(expected_members) {
        let names: Vec<&String> = jwk.as_object().unwrap().keys().collect();
        assert_eq!(json!(names), members);
        assert_eq!(jwk["use"], "sig");
    }
}

#[test]
fn an_hs256_secret_never_appears_in_the_jwks_or_in_debug_output() {
    let hs = key(Algorithm::HS256);
    let secret = hs.to_stored().private.clone();
    let set = KeySet::new(key(Algorithm::HS256));
    assert_eq!(set.jwks(), json!({"keys": []}));
    assert!(hs.public_jwk().is_none());
    let shown = format!("{hs:?} {:?} {set:?} {:?}", hs.to_stored(), set.verifier());
    assert!(!shown.contains(&b64(&secret)), "{shown}");
    assert!(!shown.contains(&format!("{secret:?}")), "{shown}");
    assert!(!shown.contains(&format!("{:?}", &secret[..4])), "{shown}");
}

#[test]
fn a_jwks_alone_verifies_tokens_from_asymmetric_keys() {
    let set = KeySet::new(key(Algorithm::EdDSA))
        .with_previous(key(Algorithm::ES256), NOW + 60)
        .unwrap()
        .with_previous(key(Algorithm::RS256), NOW + 60)
        .unwrap();
    let published: Value = serde_json::from_str(&set.jwks().to_string()).unwrap();
    let verifier = Verifier::from_jwks(&published).unwrap();
    assert_eq!(verifier.len(), 3);
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
        let token = KeySet::new(key(alg)).sign(&claims()).unwrap();
        assert_eq!(
            verifier.verify(&token, &expectations(), NOW),
            Ok(claims()),
            "{alg}"
        );
    }
}

#[test]
fn stored_keys_load_back_and_sign_compatible_tokens() {
    for alg in Algorithm::ALL {
        let original = other_key(alg, "stored-1");
        let stored = original.to_stored();
        let loaded = KeyMaterial::from_stored(&stored).unwrap();
        assert_eq!((loaded.kid(), loaded.algorithm()), (original.kid(), alg));
        assert_eq!(loaded.public_jwk(), original.public_jwk());
        let token = KeySet::new(loaded).sign(&claims()).unwrap();
        assert_eq!(
            verify(&KeySet::new(original), &token),
            Ok(claims()),
            "{alg}"
        );
    }
}

#[test]
fn a_stored_key_whose_public_jwk_belongs_to_another_key_is_refused() {
    let stored = key(Algorithm::EdDSA).to_stored();
    let other = other_key(Algorithm::EdDSA, "test-EdDSA");
    let mixed = StoredKey {
        kid: stored.kid.clone(),
        alg: stored.alg,
        private: stored.private.clone(),
        public_jwk: other.public_jwk().cloned(),
    };
    assert_eq!(
        KeyMaterial::from_stored(&mixed).err(),
        Some(KeyError::PublicKeyMismatch)
    );
}

#[test]
fn stored_bytes_of_the_wrong_kind_are_refused() {
    let ed = key(Algorithm::EdDSA).to_stored();
    for alg in [Algorithm::ES256, Algorithm::RS256] {
        let wrong = StoredKey {
            kid: ed.kid.clone(),
            alg,
            private: ed.private.clone(),
            public_jwk: None,
        };
        assert_eq!(
            KeyMaterial::from_stored(&wrong).err(),
            Some(KeyError::InvalidKey),
            "{alg}"
        );
    }
    let short = StoredKey {
        kid: ed.kid.clone(),
        alg: Algorithm::HS256,
        private: vec![1; 16],
        public_jwk: None,
    };
    assert_eq!(
        KeyMaterial::from_stored(&short).err(),
        Some(KeyError::SecretTooShort)
    );
}

#[test]
fn sealed_private_keys_open_only_with_the_same_master_key_and_kid() {
    let stored = key(Algorithm::ES256).to_stored();
    let kid = stored.kid.as_str().as_bytes();
    let sealed = seal(&MASTER_KEY, &stored.private, kid).unwrap();
    assert!(
        !sealed
            .windows(16)
            .any(|w| stored.private.windows(16).any(|p| p == w))
    );
    let opened = open(&MASTER_KEY, &sealed, kid).unwrap();
    let restored = StoredKey {
        kid: stored.kid.clone(),
        alg: stored.alg,
        private: opened.to_vec(),
        public_jwk: stored.public_jwk.clone(),
    };
    assert!(KeyMaterial::from_stored(&restored).is_ok());

    assert_eq!(
        open(&MASTER_KEY, &sealed, b"test-EdDSA").err(),
        Some(SealError::Unauthentic)
    );
    assert_eq!(
        open(&[8; 32], &sealed, kid).err(),
        Some(SealError::Unauthentic)
    );
    let mut tampered = sealed.clone();
    *tampered.last_mut().unwrap() ^= 0x80;
    assert_eq!(
        open(&MASTER_KEY, &tampered, kid).err(),
        Some(SealError::Unauthentic)
    );
}

#[test]
fn rotation_signs_with_the_new_key_and_still_accepts_the_old_one() {
    let mut set = KeySet::new(key(Algorithm::EdDSA));
    let old_token = set.sign(&claims()).unwrap();
    set.rotate(key(Algorithm::ES256), NOW + 300).unwrap();
    let new_token = set.sign(&claims()).unwrap();
    let header = latchkey_tokens::Header::decode_unverified(&new_token).unwrap();
    assert_eq!(header.kid().as_str(), "test-ES256");
    assert_eq!(verify(&set, &old_token), Ok(claims()));
    assert_eq!(verify(&set, &new_token), Ok(claims()));
    assert_eq!(set.jwks()["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        set.rotate(key(Algorithm::EdDSA), NOW).err(),
        Some(KeyError::DuplicateKid)
    );
}

#[test]
fn refusals_never_print_the_token_or_its_kid() {
    let set = KeySet::new(key(Algorithm::EdDSA));
    let secret_kid = "attacker-controlled-kid";
    let token =
        crate::support::forge_header(&key(Algorithm::EdDSA), |h| h["kid"] = json!(secret_kid));
    let error = verify(&set, &token).unwrap_err();
    assert_eq!(error, TokenError::UnknownKid);
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(
            !shown.contains(secret_kid) && !shown.contains(&token[..20]),
            "{shown}"
        );
    }
}

#[test]
fn generated_keys_have_the_documented_sizes() {
    let rs = KeyMaterial::generate(Algorithm::RS256, Kid::parse("rsa").unwrap()).unwrap();
    let n = unb64(rs.public_jwk().unwrap()["n"].as_str().unwrap());
    assert_eq!(n.len() * 8, 2048);
    let hs = KeyMaterial::generate(Algorithm::HS256, Kid::parse("hs").unwrap()).unwrap();
    assert_eq!(hs.to_stored().private.len(), 32);
    let es = key(Algorithm::ES256);
    assert_eq!(es.public_jwk().unwrap()["crv"], "P-256");
}

#[test]
fn keys_and_verifiers_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<KeySet>();
    shareable::<KeyMaterial>();
    shareable::<Verifier>();
    shareable::<latchkey_tokens::VerificationKey>();
}
