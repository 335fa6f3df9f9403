//! Signing keys: generation, the storable form, and the public JWK.
//!
//! | alg   | key                 | private bytes stored          |
//! |-------|---------------------|-------------------------------|
//! | EdDSA | Ed25519             | PKCS#8 DER (v2, with public)  |
//! | ES256 | P-256               | PKCS#8 DER                    |
//! | RS256 | RSA 2048 bits       | PKCS#8 DER                    |
//! | HS256 | 32 random bytes     | the raw secret                |
//!
//! Private bytes are held in zeroize-on-drop buffers and never appear in
//! `Debug`. To keep them encrypted at rest, pass [`StoredKey::private`]
//! through [`crate::seal`] with the `kid` as associated data.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use zeroize::{Zeroize, Zeroizing};

use crate::algorithm::{Algorithm, Kid};
use crate::error::{KeyError, SignError};
use crate::verification_key::{MIN_HMAC_SECRET, VerificationKey};

/// A private key with its `kid` and algorithm, ready to sign.
pub struct KeyMaterial {
    kid: Kid,
    alg: Algorithm,
    private: Zeroizing<Vec<u8>>,
    signer: Signer,
    verification: VerificationKey,
    public_jwk: Option<Value>,
}

enum Signer {
    EdDSA(Ed25519KeyPair),
    ES256(EcdsaKeyPair),
    RS256(RsaKeyPair),
    HS256(Box<hmac::Key>),
}

/// The storable form of a [`KeyMaterial`].
///
/// `private` is PKCS#8 DER for asymmetric keys and the raw secret for
/// HS256; it is wiped from memory when the value is dropped. `public_jwk`
/// is `None` for HS256.
pub struct StoredKey {
    /// Key identifier.
    pub kid: Kid,
    /// The algorithm the key signs with.
    pub alg: Algorithm,
    /// Private key bytes (secret).
    pub private: Vec<u8>,
    /// The public JWK as published in the JWKS, if the key is asymmetric.
    pub public_jwk: Option<Value>,
}

impl KeyMaterial {
    /// Generates a new key for `alg` from the OS random source: Ed25519,
    /// P-256, RSA 2048 bits, or a 32-byte HMAC secret.
    pub fn generate(alg: Algorithm, kid: Kid) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let private = match alg {
            Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| KeyError::Random)?
                .as_ref()
                .to_vec(),
            Algorithm::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| KeyError::Random)?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|pair| pair.as_der())
                .map_err(|_| KeyError::Random)?
                .as_ref()
                .to_vec(),
            Algorithm::HS256 => {
                let mut secret = vec![0u8; MIN_HMAC_SECRET];
                rng.fill(&mut secret).map_err(|_| KeyError::Random)?;
                secret
            }
        };
        Self::from_private(kid, alg, Zeroizing::new(private))
    }

    /// Loads a stored key. The public JWK is always recomputed from the
    /// private bytes; a stored `public_jwk` (optional, as it is derivable)
    /// that differs is refused, so a mixed-up row cannot publish one key
    /// while signing with another.
    pub fn from_stored(stored: &StoredKey) -> Result<Self, KeyError> {
        let private = Zeroizing::new(stored.private.clone());
        let key = Self::from_private(stored.kid.clone(), stored.alg, private)?;
        match &stored.public_jwk {
            Some(jwk) if key.public_jwk.as_ref() != Some(jwk) => Err(KeyError::PublicKeyMismatch),
            _ => Ok(key),
        }
    }

    /// The storable form (contains the private key).
    pub fn to_stored(&self) -> StoredKey {
        StoredKey {
            kid: self.kid.clone(),
            alg: self.alg,
            private: self.private.to_vec(),
            public_jwk: self.public_jwk.clone(),
        }
    }

    /// Key identifier.
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK (`kty`, `crv`/`x`/`y` or `n`/`e`, `kid`, `alg`,
    /// `use: "sig"`); `None` for HS256, whose key is a secret.
    pub fn public_jwk(&self) -> Option<&Value> {
        self.public_jwk.as_ref()
    }

    /// The key that verifies this key's signatures (for HS256, the secret).
    pub fn verification_key(&self) -> &VerificationKey {
        &self.verification
    }

    /// Signs `message` and returns the raw JWS signature bytes.
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.signer {
            Signer::EdDSA(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Signer::ES256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| SignError::Crypto),
            Signer::RS256(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| SignError::Crypto)?;
                Ok(signature)
            }
            Signer::HS256(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
        }
    }

    fn from_private(
        kid: Kid,
        alg: Algorithm,
        private: Zeroizing<Vec<u8>>,
    ) -> Result<Self, KeyError> {
        let invalid = |_| KeyError::InvalidKey;
        let (signer, verification, public) = match alg {
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(&private).map_err(invalid)?;
                let public = pair.public_key().as_ref().to_vec();
                let verification = VerificationKey::ed25519(&public)?;
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&public)});
                (Signer::EdDSA(pair), verification, Some(jwk))
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &private)
                    .map_err(invalid)?;
                let point = pair.public_key().as_ref();
                let verification = VerificationKey::es256(point)?;
                let (x, y) = point.get(1..).ok_or(KeyError::InvalidKey)?.split_at(32);
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)});
                (Signer::ES256(pair), verification, Some(jwk))
            }
            Algorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(&private).map_err(invalid)?;
                let (n, e) = (pair.public_key().modulus(), pair.public_key().exponent());
                let (n, e) = (
                    n.big_endian_without_leading_zero(),
                    e.big_endian_without_leading_zero(),
                );
                let verification = VerificationKey::rs256(n, e)?;
                let jwk = json!({"kty": "RSA", "n": b64(n), "e": b64(e)});
                (Signer::RS256(pair), verification, Some(jwk))
            }
            Algorithm::HS256 => {
                let verification = VerificationKey::hs256(&private)?;
                let key = hmac::Key::new(hmac::HMAC_SHA256, &private);
                (Signer::HS256(Box::new(key)), verification, None)
            }
        };
        let public_jwk = public.map(|mut jwk| {
            jwk["kid"] = Value::String(kid.as_str().to_owned());
            jwk["alg"] = Value::String(alg.as_str().to_owned());
            jwk["use"] = Value::String("sig".to_owned());
            jwk
        });
        Ok(Self {
            kid,
            alg,
            private,
            signer,
            verification,
            public_jwk,
        })
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private", &"[redacted]")
            .field("public_jwk", &self.public_jwk)
            .finish()
    }
}

impl Drop for StoredKey {
    fn drop(&mut self) {
        self.private.zeroize();
    }
}
