//! Cost of signing and verifying one access token, per algorithm, on one
//! thread. `cargo bench -p latchkey-tokens` (release profile).
//!
//! A plain timing loop rather than criterion, to keep the dev-dependency
//! tree small: each figure is the median of 7 rounds of at least 300 ms.
//! For comparison it also times jsonwebtoken 11's `decode` (aws-lc-rs
//! backend, its expiry check off) on the same tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use jsonwebtoken::{DecodingKey, Validation};
use latchkey_tokens::{
    AccessClaims, Algorithm, Expectations, KeyMaterial, KeySet, Kid, verify_signature_only,
};

const NOW: i64 = 1_800_000_000;

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "https://latchkey.example".to_owned(),
        sub: "0191f8d2-6a4b-7c3e-9d10-2b7f4e5a6c8d".to_owned(),
        aud: "latchkey".to_owned(),
        exp: NOW + 300,
        iat: NOW,
        nbf: None,
        jti: "0191f8d2-6a4b-7c3e-9d10-aaaaaaaaaaaa".to_owned(),
        sid: "0191f8d2-6a4b-7c3e-9d10-bbbbbbbbbbbb".to_owned(),
        amr: Vec::new(),
        auth_time: None,
        groups: Vec::new(),
    }
}

/// Median time per call of `op`, in microseconds.
// A benchmark measures real time.
#[allow(clippy::disallowed_methods)]
fn per_call(mut op: impl FnMut()) -> f64 {
    for _ in 0..100 {
        op();
    }
    let mut rounds = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        let mut calls = 0u32;
        while start.elapsed() < Duration::from_millis(300) {
            for _ in 0..16 {
                op();
            }
            calls += 16;
        }
        rounds.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(calls));
    }
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn their_key(key: &KeyMaterial) -> DecodingKey {
    match key.public_jwk() {
        Some(jwk) => DecodingKey::from_jwk(&serde_json::from_value(jwk.clone()).unwrap()).unwrap(),
        None => DecodingKey::from_secret(&key.to_stored().private),
    }
}

fn their_algorithm(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
    }
}

fn main() {
    let expected = Expectations::new("https://latchkey.example", "latchkey");
    println!(
        "{:<6} {:>6} {:>10} {:>12} {:>12} {:>14}",
        "alg", "bytes", "sign µs", "verify µs", "sig-only µs", "jsonwebtoken µs"
    );
    for alg in Algorithm::ALL {
        let key = KeyMaterial::generate(alg, Kid::parse("bench").unwrap()).unwrap();
        let decoding = their_key(&key);
        let verification = key.verification_key().clone();
        let set = KeySet::new(key);
        let verifier = set.verifier();
        let claims = claims();
        let token = set.sign(&claims).unwrap();
        assert!(verifier.verify(&token, &expected, NOW).is_ok());

        let sign = per_call(|| drop(black_box(set.sign(black_box(&claims)))));
        let verify = per_call(|| {
            drop(black_box(verifier.verify(
                black_box(&token),
                &expected,
                NOW,
            )));
        });
        let signature_only = per_call(|| {
            let _ = black_box(verify_signature_only(black_box(&token), &verification));
        });
        let mut validation = Validation::new(their_algorithm(alg));
        validation.validate_exp = false;
        validation.set_audience(&["latchkey"]);
        let theirs = per_call(|| {
            let decoded =
                jsonwebtoken::decode::<AccessClaims>(black_box(&token), &decoding, &validation);
            drop(black_box(decoded));
        });
        println!(
            "{:<6} {:>6} {:>10.1} {:>12.1} {:>12.1} {:>14.1}",
            alg.as_str(),
            token.len(),
            sign,
            verify,
            signature_only,
            theirs
        );
    }
}
