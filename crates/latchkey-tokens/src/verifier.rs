//! Accepting an access token: every rule, in one place.
//!
//! [`Verifier::verify`] runs, in order, stopping at the first failure:
//!
//! 1. length at most [`crate::MAX_TOKEN_LEN`], exactly three parts, a
//!    non-empty signature part;
//! 2. the header (see [`crate::Header`]): JSON object without duplicates,
//!    supported `alg` (`none` refused by name), no `crit`, no embedded or
//!    referenced keys, no other parameters, `typ` `at+jwt`, a well-formed
//!    `kid`;
//! 3. the key: `kid` known, the key's algorithm equal to `alg`, the key not
//!    past its `not_after`;
//! 4. the signature, over the exact bytes received;
//! 5. only then the payload: a JSON object without duplicate claims, the
//!    required claims with exact types, then issuer, audience and times.

use serde_json::Value;

use crate::algorithm::Kid;
use crate::claims::{AccessClaims, Expectations, check_claims};
use crate::error::{KeyError, TokenError};
use crate::header::{Header, decode_object, jws_algorithm};
use crate::jws::{Parts, decode_part};
use crate::verification_key::VerificationKey;

/// The keys a token may be signed with, each bound to its algorithm and
/// optionally to a last second of use.
///
/// Build one with [`crate::KeySet::verifier`] on the issuing server, or
/// [`Verifier::from_jwks`] on a resource server.
#[derive(Clone, Debug, Default)]
pub struct Verifier {
    keys: Vec<Entry>,
}

#[derive(Clone, Debug)]
struct Entry {
    kid: Kid,
    key: VerificationKey,
    not_after: Option<i64>,
}

impl Verifier {
    /// A verifier with no keys (it refuses everything).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key. With `not_after: Some(t)`, tokens naming this key are
    /// refused once `now_unix > t` ([`TokenError::KeyRetired`]).
    pub fn insert(
        &mut self,
        kid: Kid,
        key: VerificationKey,
        not_after: Option<i64>,
    ) -> Result<(), KeyError> {
        if self.keys.iter().any(|entry| entry.kid == kid) {
            return Err(KeyError::DuplicateKid);
        }
        self.keys.push(Entry {
            kid,
            key,
            not_after,
        });
        Ok(())
    }

    /// Reads a JWKS document (`{"keys": [...]}`) as published by
    /// [`crate::KeySet::jwks`]. Every entry must be a public key that
    /// [`VerificationKey::from_jwk`] accepts; one bad entry refuses the set.
    pub fn from_jwks(jwks: &Value) -> Result<Self, KeyError> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(KeyError::InvalidJwk)?;
        let mut verifier = Self::new();
        for jwk in keys {
            let (kid, key) = VerificationKey::from_jwk(jwk)?;
            verifier.insert(kid, key, None)?;
        }
        Ok(verifier)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Accepts `token` as a latchkey access token at `now_unix`, or says
    /// why not. See the module documentation for the rules and their order.
    pub fn verify(
        &self,
        token: &str,
        expected: &Expectations,
        now_unix: i64,
    ) -> Result<AccessClaims, TokenError> {
        let parts = Parts::split(token)?;
        let mut object = decode_object(parts.header)?;
        let alg = jws_algorithm(&mut object)?;
        let header = Header::from_object(alg, object)?;

        let entry = self
            .keys
            .iter()
            .find(|entry| entry.kid == *header.kid())
            .ok_or(TokenError::UnknownKid)?;
        if entry.key.algorithm() != header.alg() {
            return Err(TokenError::AlgorithmMismatch);
        }
        if entry.not_after.is_some_and(|last| now_unix > last) {
            return Err(TokenError::KeyRetired);
        }
        parts.check_signature(&entry.key)?;

        let payload = decode_part(parts.payload)?;
        check_claims(&payload, expected, now_unix)
    }
}
