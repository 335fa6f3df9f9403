//! Arbitrary input must never panic the verifier, and whatever it accepts
//! must satisfy the documented rules.
//!
//! Each input is tried twice: as a token string, and (split at the first
//! NUL byte) as raw header and payload JSON signed with the verifier's own
//! HS256 secret, so the fuzzer also reaches the header and claim checks
//! that sit behind a valid signature.

#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_tokens::{AccessClaims, Expectations, Kid, VerificationKey, Verifier};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_800_000_000;
const SECRET: &[u8; 32] = b"latchkey-fuzz-hs256-secret-32byt";
/// RFC 8037 Appendix A Ed25519 public key.
const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 7515 Appendix A.3 P-256 public key.
const P256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const P256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

fn decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap_or_default()
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let point = [&[0x04][..], &decode(P256_X), &decode(P256_Y)].concat();
        let keys = [
            ("hs", VerificationKey::hs256(SECRET)),
            ("ed", VerificationKey::ed25519(&decode(ED25519_X))),
            ("es", VerificationKey::es256(&point)),
        ];
        let mut verifier = Verifier::new();
        for (kid, key) in keys {
            if let (Ok(kid), Ok(key)) = (Kid::parse(kid), key) {
                let _ = verifier.insert(kid, key, None);
            }
        }
        verifier
    })
}

fn expected() -> Expectations {
    Expectations::new("https://latchkey.fuzz", "latchkey")
}

/// What any accepted token must satisfy.
fn check_accepted(claims: &AccessClaims) {
    let expected = expected();
    assert_eq!(claims.iss, expected.issuer);
    assert_eq!(claims.aud, expected.audience);
    assert!(NOW < claims.exp, "accepted an expired token");
    assert!(claims.iat <= NOW, "accepted a token from the future");
    assert!(
        claims.nbf.is_none_or(|nbf| nbf <= NOW),
        "accepted a token before nbf"
    );
}

fn signed(header: &[u8], payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
    let tag = hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fuzz_target!(|data: &[u8]| {
    let verifier = verifier();
    if let Ok(token) = std::str::from_utf8(data)
        && let Ok(claims) = verifier.verify(token, &expected(), NOW)
    {
        check_accepted(&claims);
    }
    if let Some(split) = data.iter().position(|b| *b == 0) {
        let token = signed(&data[..split], &data[split + 1..]);
        if let Ok(claims) = verifier.verify(&token, &expected(), NOW) {
            check_accepted(&claims);
        }
    }
});
