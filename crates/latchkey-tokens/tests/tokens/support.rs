//! Shared fixtures: a fixed clock, one key per algorithm, and helpers that
//! build tokens by hand (base64url of hand-written JSON, signed with
//! aws-lc-rs directly rather than through the crate's signer) so attack
//! tests control every byte.

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_tokens::{
    AccessClaims, Algorithm, Expectations, KeyMaterial, KeySet, Kid, StoredKey, TokenError,
};
use serde_json::{Value, json};

/// The fixed "now" of every test: 2027-01-15T08:00:00Z.
pub const NOW: i64 = 1_800_000_000;
pub const ISSUER: &str = "https://latchkey.test";
pub const AUDIENCE: &str = "latchkey";

pub fn expectations() -> Expectations {
    Expectations::new(ISSUER, AUDIENCE)
}

pub fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISSUER.to_owned(),
        sub: "user-1".to_owned(),
        aud: AUDIENCE.to_owned(),
        exp: NOW + 300,
        iat: NOW,
        nbf: None,
        jti: "jti-1".to_owned(),
        sid: "sid-1".to_owned(),
        amr: Vec::new(),
        auth_time: None,
        groups: Vec::new(),
    }
}

/// The claims of [`claims`] as JSON, for editing by hand.
pub fn claims_json() -> Value {
    serde_json::to_value(claims()).unwrap()
}

/// The key for `alg` with kid `test-<alg>`. Keys are generated once per
/// test binary, since RSA generation is slow.
pub fn key(alg: Algorithm) -> KeyMaterial {
    key_with_kid(alg, &format!("test-{alg}"))
}

/// The private bytes of the per-binary key for `alg`, under another kid.
pub fn key_with_kid(alg: Algorithm, kid: &str) -> KeyMaterial {
    static PRIVATE: OnceLock<Vec<(Algorithm, Vec<u8>)>> = OnceLock::new();
    let all = PRIVATE.get_or_init(|| {
        Algorithm::ALL
            .iter()
            .map(|alg| {
                let key = KeyMaterial::generate(*alg, Kid::parse("gen").unwrap()).unwrap();
                (*alg, key.to_stored().private.clone())
            })
            .collect()
    });
    let private = all.iter().find(|(a, _)| *a == alg).unwrap().1.clone();
    let stored = StoredKey {
        kid: Kid::parse(kid).unwrap(),
        alg,
        private,
        public_jwk: None,
    };
    KeyMaterial::from_stored(&stored).unwrap()
}

/// A second, unrelated key for `alg` (freshly generated).
pub fn other_key(alg: Algorithm, kid: &str) -> KeyMaterial {
    KeyMaterial::generate(alg, Kid::parse(kid).unwrap()).unwrap()
}

pub fn key_set(alg: Algorithm) -> KeySet {
    KeySet::new(key(alg))
}

/// Verifies with `set`'s verifier at [`NOW`] against [`expectations`].
pub fn verify(set: &KeySet, token: &str) -> Result<AccessClaims, TokenError> {
    set.verifier().verify(token, &expectations(), NOW)
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// The header latchkey itself writes for `key`.
pub fn header_for(key: &KeyMaterial) -> Value {
    json!({"alg": key.algorithm().as_str(), "kid": key.kid().as_str(), "typ": "at+jwt"})
}

/// Signs `signing_input` with `key`'s private bytes using aws-lc-rs.
pub fn raw_sign(key: &KeyMaterial, signing_input: &[u8]) -> Vec<u8> {
    let private = key.to_stored().private.clone();
    let rng = SystemRandom::new();
    match key.algorithm() {
        Algorithm::EdDSA => {
            let pair = Ed25519KeyPair::from_pkcs8(&private).unwrap();
            pair.sign(signing_input).as_ref().to_vec()
        }
        Algorithm::ES256 => {
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &private).unwrap();
            pair.sign(&rng, signing_input).unwrap().as_ref().to_vec()
        }
        Algorithm::RS256 => {
            let pair = RsaKeyPair::from_pkcs8(&private).unwrap();
            let mut signature = vec![0; pair.public_modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &rng, signing_input, &mut signature)
                .unwrap();
            signature
        }
        Algorithm::HS256 => hmac_sign(&private, signing_input),
    }
}

pub fn hmac_sign(secret: &[u8], signing_input: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::sign(&key, signing_input).as_ref().to_vec()
}

/// `b64(header).b64(payload)` from raw JSON text, so tests can write
/// duplicate names or odd types that `serde_json::Value` cannot hold.
pub fn signing_input(header_json: &str, payload_json: &str) -> String {
    format!("{}.{}", b64(header_json), b64(payload_json))
}

/// A token with this exact header and payload text, signed by `key`.
pub fn forge_text(key: &KeyMaterial, header_json: &str, payload_json: &str) -> String {
    let input = signing_input(header_json, payload_json);
    let signature = raw_sign(key, input.as_bytes());
    format!("{input}.{}", b64(signature))
}

/// A token with this header and payload, signed by `key`.
pub fn forge(key: &KeyMaterial, header: &Value, payload: &Value) -> String {
    forge_text(key, &header.to_string(), &payload.to_string())
}

/// A correctly signed token whose header is latchkey's, edited by `edit`.
pub fn forge_header(key: &KeyMaterial, edit: impl FnOnce(&mut Value)) -> String {
    let mut header = header_for(key);
    edit(&mut header);
    forge(key, &header, &claims_json())
}

/// A correctly signed token whose claims are [`claims_json`] edited by `edit`.
pub fn forge_claims(key: &KeyMaterial, edit: impl FnOnce(&mut Value)) -> String {
    let mut payload = claims_json();
    edit(&mut payload);
    forge(key, &header_for(key), &payload)
}

/// Replaces part `index` (0 header, 1 payload, 2 signature) of `token`.
pub fn replace_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}
