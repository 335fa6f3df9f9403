//! Properties over many inputs: tampering anywhere is refused, garbage never
//! panics or verifies, and any claims latchkey signs come back unchanged.

use std::sync::OnceLock;

use latchkey_tokens::{AccessClaims, Algorithm, KeySet, Verifier};
use proptest::prelude::*;
use proptest::sample::{Index, select};

use crate::support::{AUDIENCE, ISSUER, NOW, claims, expectations, key};

/// One verifier and one valid token per algorithm.
fn fixtures() -> &'static [(Verifier, String)] {
    static FIXTURES: OnceLock<Vec<(Verifier, String)>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        Algorithm::ALL
            .iter()
            .map(|alg| {
                let set = KeySet::new(key(*alg));
                (set.verifier(), set.sign(&claims()).unwrap())
            })
            .collect()
    })
}

/// Replacement bytes: half arbitrary, half from the token alphabet (so
/// most changes still decode and reach the signature check).
fn replacement() -> impl Strategy<Value = u8> {
    let alphabet: Vec<u8> =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.".to_vec();
    prop_oneof![any::<u8>(), select(alphabet)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_single_byte_change_to_a_valid_token_is_refused(
        which in 0..Algorithm::ALL.len(),
        position in any::<Index>(),
        byte in replacement(),
    ) {
        let (verifier, token) = &fixtures()[which];
        prop_assert!(verifier.verify(token, &expectations(), NOW).is_ok());
        let mut bytes = token.clone().into_bytes();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        // A change that breaks UTF-8 cannot even be presented as a token.
        if let Ok(altered) = String::from_utf8(bytes) {
            prop_assert!(verifier.verify(&altered, &expectations(), NOW).is_err());
        }
    }

    #[test]
    fn arbitrary_text_is_refused_without_panicking(text in "\\PC{0,300}") {
        for (verifier, _) in fixtures() {
            prop_assert!(verifier.verify(&text, &expectations(), NOW).is_err());
        }
    }

    #[test]
    fn arbitrary_three_part_base64url_is_refused(
        header in "[A-Za-z0-9_-]{0,120}",
        payload in "[A-Za-z0-9_-]{0,200}",
        signature in "[A-Za-z0-9_-]{0,400}",
    ) {
        let token = format!("{header}.{payload}.{signature}");
        for (verifier, _) in fixtures() {
            prop_assert!(verifier.verify(&token, &expectations(), NOW).is_err());
        }
    }

    #[test]
    fn any_claims_latchkey_signs_verify_unchanged(
        which in 0..Algorithm::ALL.len(),
        sub in "\\PC{0,40}",
        jti in "[a-zA-Z0-9]{1,32}",
        sid in "\\PC{0,40}",
        exp in (NOW + 1)..i64::MAX,
        iat in i64::MIN..=NOW,
        nbf in proptest::option::of(i64::MIN..=NOW),
    ) {
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            sub,
            aud: AUDIENCE.to_owned(),
            exp,
            iat,
            nbf,
            jti,
            sid,
            amr: Vec::new(),
            auth_time: None,
            groups: Vec::new(),
        };
        let set = KeySet::new(key(Algorithm::ALL[which]));
        let token = set.sign(&claims).unwrap();
        prop_assert_eq!(set.verifier().verify(&token, &expectations(), NOW), Ok(claims));
    }
}
