//! The issuing server's keys: one current signing key and the previous
//! keys kept for verification after a rotation.
//!
//! Rotation (`latchkey keys rotate`): the new key becomes current at once;
//! the old one moves to `previous` with `not_after` = the last second a
//! token it signed can still be valid (rotation time + access-token TTL +
//! any leeway). After that second its tokens are refused
//! ([`crate::TokenError::KeyRetired`]) and [`KeySet::prune`] drops it.
//! Previous keys never sign.

use serde_json::{Value, json};

use crate::claims::AccessClaims;
use crate::error::{KeyError, SignError};
use crate::jws::assemble;
use crate::keys::KeyMaterial;
use crate::verifier::Verifier;

/// The current signing key plus previous keys still accepted until their
/// `not_after` (unix seconds).
#[derive(Debug)]
pub struct KeySet {
    current: KeyMaterial,
    previous: Vec<(KeyMaterial, i64)>,
}

impl KeySet {
    /// A set whose only key is `current`.
    pub fn new(current: KeyMaterial) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// Adds a previous key, accepted for verification until `not_after`.
    pub fn with_previous(mut self, key: KeyMaterial, not_after: i64) -> Result<Self, KeyError> {
        self.ensure_new_kid(&key)?;
        self.previous.push((key, not_after));
        Ok(self)
    }

    /// Makes `next` the signing key; the current key is kept for
    /// verification until `retire_after`.
    pub fn rotate(&mut self, next: KeyMaterial, retire_after: i64) -> Result<(), KeyError> {
        self.ensure_new_kid(&next)?;
        let old = std::mem::replace(&mut self.current, next);
        self.previous.push((old, retire_after));
        Ok(())
    }

    /// Drops previous keys whose `not_after` is before `now_unix`.
    pub fn prune(&mut self, now_unix: i64) {
        self.previous
            .retain(|(_, not_after)| *not_after >= now_unix);
    }

    /// The signing key.
    pub fn current(&self) -> &KeyMaterial {
        &self.current
    }

    /// Previous keys with their `not_after`.
    pub fn previous(&self) -> impl Iterator<Item = (&KeyMaterial, i64)> {
        self.previous
            .iter()
            .map(|(key, not_after)| (key, *not_after))
    }

    /// Signs `claims` with the current key. The header is exactly
    /// `{"alg":…,"kid":…,"typ":"at+jwt"}`.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, SignError> {
        let key = &self.current;
        assemble(key.algorithm(), key.kid().as_str(), claims, |message| {
            key.sign_bytes(message)
        })
    }

    /// The JWKS document `{"keys":[…]}`: the public JWK of the current and
    /// every previous asymmetric key. HS256 keys are secrets and are never
    /// listed, so an HS256-only set publishes `{"keys":[]}`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .all_keys()
            .filter_map(|key| key.public_jwk().cloned())
            .collect();
        json!({ "keys": keys })
    }

    /// A verifier for every key in the set, previous keys bound to their
    /// `not_after`. HS256 keys verify with their secret here, which is why
    /// this verifier belongs to the issuing server only. Build it once per
    /// change to the set (it copies key handles) and share it.
    pub fn verifier(&self) -> Verifier {
        let mut verifier = Verifier::new();
        let current = std::iter::once((&self.current, None));
        let previous = self
            .previous()
            .map(|(key, not_after)| (key, Some(not_after)));
        for (key, not_after) in current.chain(previous) {
            // kids are unique by construction, so insertion cannot fail.
            let _ = verifier.insert(key.kid().clone(), key.verification_key().clone(), not_after);
        }
        verifier
    }

    fn all_keys(&self) -> impl Iterator<Item = &KeyMaterial> {
        std::iter::once(&self.current).chain(self.previous.iter().map(|(key, _)| key))
    }

    fn ensure_new_kid(&self, key: &KeyMaterial) -> Result<(), KeyError> {
        if self.all_keys().any(|existing| existing.kid() == key.kid()) {
            Err(KeyError::DuplicateKid)
        } else {
            Ok(())
        }
    }
}
