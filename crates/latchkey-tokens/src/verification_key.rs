//! Keys that check signatures, each bound to exactly one algorithm.
//!
//! A [`VerificationKey`] is created for one [`Algorithm`] and can only check
//! signatures of that algorithm: the algorithm is a property of the key,
//! never of the token (RFC 8725 §3.1). Public keys are parsed once, when the
//! key is created, so verification does no key parsing.

use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RsaPublicKeyComponents,
};
use serde_json::Value;

use crate::algorithm::{Algorithm, Kid};
use crate::error::{KeyError, TokenError};
use crate::jws::decode_part;

/// Order of the P-256 group, big-endian (SEC 2 §2.4.2).
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// Shortest HS256 secret accepted: the hash size (RFC 7518 §3.2).
pub(crate) const MIN_HMAC_SECRET: usize = 32;

/// A key that verifies signatures of one algorithm.
#[derive(Clone)]
pub struct VerificationKey {
    alg: Algorithm,
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Public(ParsedPublicKey),
    Secret(Box<hmac::Key>),
}

impl VerificationKey {
    /// An Ed25519 public key (32 bytes) for `EdDSA`.
    pub fn ed25519(public_key: &[u8]) -> Result<Self, KeyError> {
        Self::public(Algorithm::EdDSA, ParsedPublicKey::new(&ED25519, public_key))
    }

    /// A P-256 public key for `ES256`, as the uncompressed point
    /// `0x04 || x || y` (65 bytes).
    pub fn es256(uncompressed_point: &[u8]) -> Result<Self, KeyError> {
        let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, uncompressed_point);
        Self::public(Algorithm::ES256, parsed)
    }

    /// An RSA public key for `RS256` from its big-endian modulus and
    /// exponent. Moduli under 2048 bits are refused.
    pub fn rs256(modulus: &[u8], exponent: &[u8]) -> Result<Self, KeyError> {
        let significant = modulus.iter().skip_while(|b| **b == 0).count();
        if significant < 256 {
            return Err(KeyError::InvalidKey);
        }
        let components = RsaPublicKeyComponents {
            n: modulus,
            e: exponent,
        };
        let parsed = components.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256);
        Self::public(Algorithm::RS256, parsed)
    }

    /// An HS256 shared secret of at least 32 bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_SECRET {
            return Err(KeyError::SecretTooShort);
        }
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        Ok(Self {
            alg: Algorithm::HS256,
            inner: Inner::Secret(Box::new(key)),
        })
    }

    /// Reads one public JWK as published in latchkey's JWKS: `kid` and
    /// `alg` are required (the algorithm is bound to the key here, not taken
    /// from tokens), `use` if present must be `sig`, and symmetric (`oct`)
    /// keys are refused since a secret never belongs in a key set.
    pub fn from_jwk(jwk: &Value) -> Result<(Kid, Self), KeyError> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        let bytes = |name: &str| {
            field(name)
                .ok_or(KeyError::InvalidJwk)
                .and_then(|text| decode_part(text).map_err(|_| KeyError::InvalidJwk))
        };
        let kid = Kid::parse(field("kid").ok_or(KeyError::InvalidJwk)?)?;
        let alg = Algorithm::parse(field("alg").ok_or(KeyError::InvalidJwk)?)?;
        if jwk.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
            return Err(KeyError::InvalidJwk);
        }
        let key = match (alg, field("kty"), field("crv")) {
            (Algorithm::EdDSA, Some("OKP"), Some("Ed25519")) => Self::ed25519(&bytes("x")?)?,
            (Algorithm::ES256, Some("EC"), Some("P-256")) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(KeyError::InvalidJwk);
                }
                Self::es256(&[&[0x04][..], &x, &y].concat())?
            }
            (Algorithm::RS256, Some("RSA"), None) => Self::rs256(&bytes("n")?, &bytes("e")?)?,
            _ => return Err(KeyError::InvalidJwk),
        };
        Ok((kid, key))
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn public(
        alg: Algorithm,
        parsed: Result<ParsedPublicKey, aws_lc_rs::error::KeyRejected>,
    ) -> Result<Self, KeyError> {
        let parsed = parsed.map_err(|_| KeyError::InvalidKey)?;
        Ok(Self {
            alg,
            inner: Inner::Public(parsed),
        })
    }

    /// Checks `signature` over `message`. HMAC comparison is constant-time
    /// (aws-lc); ECDSA signatures with `r` or `s` outside `[1, n-1]` are
    /// refused by name before the curve arithmetic (CVE-2022-21449 class).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), TokenError> {
        if self.alg == Algorithm::ES256 {
            check_ecdsa_scalars(signature)?;
        }
        let verified = match &self.inner {
            Inner::Public(key) => key.verify_sig(message, signature),
            Inner::Secret(key) => hmac::verify(key, message, signature),
        };
        verified.map_err(|_| TokenError::InvalidSignature)
    }
}

/// A fixed-width P-256 signature is `r || s`, 32 bytes each; both must be in
/// `[1, n-1]`. Wrong lengths are left to the verifier (`InvalidSignature`).
fn check_ecdsa_scalars(signature: &[u8]) -> Result<(), TokenError> {
    if signature.len() != 64 {
        return Err(TokenError::InvalidSignature);
    }
    let (r, s) = signature.split_at(32);
    let in_range = |scalar: &[u8]| scalar.iter().any(|b| *b != 0) && scalar < &P256_ORDER[..];
    if in_range(r) && in_range(s) {
        Ok(())
    } else {
        Err(TokenError::DegenerateSignature)
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_scalars_must_be_between_one_and_the_order() {
        let mut good = [1u8; 64];
        assert_eq!(check_ecdsa_scalars(&good), Ok(()));
        good[..32].copy_from_slice(&P256_ORDER);
        assert_eq!(
            check_ecdsa_scalars(&good),
            Err(TokenError::DegenerateSignature)
        );
        assert_eq!(
            check_ecdsa_scalars(&[0u8; 64]),
            Err(TokenError::DegenerateSignature)
        );
        let mut zero_s = [7u8; 64];
        zero_s[32..].fill(0);
        assert_eq!(
            check_ecdsa_scalars(&zero_s),
            Err(TokenError::DegenerateSignature)
        );
        assert_eq!(
            check_ecdsa_scalars(&[1u8; 63]),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn short_hmac_secrets_and_small_rsa_moduli_are_refused() {
        assert_eq!(
            VerificationKey::hs256(&[7u8; 31]).err(),
            Some(KeyError::SecretTooShort)
        );
        assert_eq!(
            VerificationKey::rs256(&[0xff; 255], &[1, 0, 1]).err(),
            Some(KeyError::InvalidKey)
        );
    }

    #[test]
    fn jwks_entries_must_name_kid_and_alg_and_never_be_symmetric() {
        let oct = serde_json::json!({"kty":"oct","kid":"k","alg":"HS256","k":"c2VjcmV0"});
        assert_eq!(
            VerificationKey::from_jwk(&oct).err(),
            Some(KeyError::InvalidJwk)
        );
        let no_alg = serde_json::json!({"kty":"OKP","crv":"Ed25519","kid":"k","x":"AA"});
        assert_eq!(
            VerificationKey::from_jwk(&no_alg).err(),
            Some(KeyError::InvalidJwk)
        );
    }
}
