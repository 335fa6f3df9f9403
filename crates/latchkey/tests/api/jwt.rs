//! Reading and forging JWTs for the bearer tests.
//!
//! A forged token is only a good test if the one thing it gets wrong is
//! what the server must refuse. So most forgeries here are signed with the
//! server's *own* current key, read from its store (the tests' servers run
//! without a master key, so it is stored unsealed): a refusal then proves
//! the rule, not merely that the signature was bad. `forged_with_the_real_key_is_accepted`
//! (in `forgery.rs`) is the control that shows the forging itself is sound.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn part(token: &str, i: usize) -> Value {
    let encoded = token.split('.').nth(i).expect("three parts");
    let bytes = URL_SAFE_NO_PAD.decode(encoded).expect("base64url part");
    serde_json::from_slice(&bytes).expect("JSON part")
}

/// The decoded JOSE header of `token`.
pub fn header(token: &str) -> Value {
    part(token, 0)
}

/// The decoded claims of `token` (unverified).
pub fn claims(token: &str) -> Value {
    part(token, 1)
}

type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// Something that signs a JWS signing input.
pub struct Signer {
    /// The raw public key (Ed25519) or EC point, when there is one.
    pub public: Vec<u8>,
    sign: SignFn,
}

impl Signer {
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        (self.sign)(message)
    }

    fn ed25519(pkcs8: &[u8]) -> Self {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).expect("Ed25519 PKCS#8");
        Self {
            public: pair.public_key().as_ref().to_vec(),
            sign: Box::new(move |m| pair.sign(m).as_ref().to_vec()),
        }
    }

    /// A fresh Ed25519 key that is not the server's.
    pub fn foreign_ed25519() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("generate");
        Self::ed25519(pkcs8.as_ref())
    }

    /// A fresh P-256 key that is not the server's.
    pub fn foreign_es256() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("generate");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("P-256 PKCS#8");
        Self {
            public: pair.public_key().as_ref().to_vec(),
            sign: Box::new(move |m| {
                pair.sign(&SystemRandom::new(), m)
                    .expect("sign")
                    .as_ref()
                    .to_vec()
            }),
        }
    }

    /// HMAC-SHA-256 keyed with `secret` (whatever bytes those are).
    pub fn hs256(secret: &[u8]) -> Self {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        Self {
            public: Vec::new(),
            sign: Box::new(move |m| hmac::sign(&key, m).as_ref().to_vec()),
        }
    }
}

/// The server's current signing key, from its store, and its kid.
pub async fn server_key(app: &TestApp) -> (String, Signer) {
    let keys = app.state.store().keys().await.expect("keys");
    let current = keys
        .iter()
        .find(|k| k.retired_at.is_none())
        .expect("a current key");
    assert!(!current.sealed, "test servers run without a master key");
    let signer = match current.alg.as_str() {
        "EdDSA" => Signer::ed25519(&current.private),
        "HS256" => Signer::hs256(&current.private),
        other => panic!("forging with a server {other} key is not needed"),
    };
    (current.kid.clone(), signer)
}

/// `header.claims.signature` with `signer`'s signature over the first two.
pub fn forge(header: &Value, claims: &Value, signer: &Signer) -> String {
    forge_raw(&header.to_string(), &claims.to_string(), signer)
}

/// As [`forge`], with the JSON texts exactly as given.
pub fn forge_raw(header: &str, claims: &str, signer: &Signer) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = signer.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

/// A header as latchkey writes it.
pub fn at_jwt_header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "kid": kid, "typ": "at+jwt"})
}

/// Logs `username` in for tokens and returns the server's key with
/// the header and claims of a real access token, ready to be altered.
pub async fn real_parts(app: &TestApp, username: &str) -> (Signer, Value, Value) {
    let pair = app.token_user(username).await;
    let (kid, signer) = server_key(app).await;
    let h = header(&pair.access);
    assert_eq!(h["kid"], kid.as_str(), "the token names the current key");
    (signer, h, claims(&pair.access))
}
