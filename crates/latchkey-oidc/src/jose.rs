//! A JWS checked against a provider's JWKS with `jsonwebtoken`, for the
//! tokens `openidconnect` has no type for (the logout token). The claims
//! are returned unchecked: the caller checks them against its own `now`.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openidconnect::core::CoreJsonWebKeySet;
use serde_json::{Map, Value};

use crate::check::Refusal;

/// Logout tokens are small; anything larger is refused unread.
const MAX_TOKEN: usize = 8 * 1024;

/// Header types a logout token may declare.
const TYPES: [&str; 2] = ["logout+jwt", "JWT"];

fn asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn key_for<'a>(set: &'a JwkSet, kid: Option<&str>) -> Result<&'a Jwk, Refusal> {
    match kid {
        Some(kid) => set.find(kid).ok_or(Refusal::NoMatchingKey),
        None if set.keys.len() == 1 => set.keys.first().ok_or(Refusal::NoMatchingKey),
        None => Err(Refusal::Invalid("no kid and several keys")),
    }
}

/// The verified payload of `token`.
pub(crate) fn verify(keys: &CoreJsonWebKeySet, token: &str) -> Result<Map<String, Value>, Refusal> {
    if token.len() > MAX_TOKEN {
        return Err(Refusal::Invalid("too large"));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Invalid("header"))?;
    if !asymmetric(header.alg) {
        return Err(Refusal::Invalid("symmetric algorithm"));
    }
    if header.typ.as_deref().is_some_and(|t| !TYPES.contains(&t)) {
        return Err(Refusal::Invalid("typ"));
    }
    if header.jku.is_some() || header.jwk.is_some() || header.x5u.is_some() || header.crit.is_some()
    {
        return Err(Refusal::Invalid("header parameter"));
    }
    let set: JwkSet = serde_json::to_value(keys)
        .and_then(serde_json::from_value)
        .map_err(|_| Refusal::Invalid("provider keys"))?;
    let jwk = key_for(&set, header.kid.as_deref())?;
    // The key's own algorithm, when it names one, must be the token's.
    if let Some(alg) = jwk.common.key_algorithm
        && alg.to_string() != format!("{:?}", header.alg)
    {
        return Err(Refusal::Invalid("algorithm is not the key's"));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| Refusal::Invalid("provider key"))?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|_| Refusal::Invalid("signature"))
}
