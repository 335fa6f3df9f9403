//! The JOSE header: what a token says about how it was signed.
//!
//! Everything in a header is attacker-controlled until the signature has
//! verified, so it is read in two layers:
//!
//! * [`jws_algorithm`]: the JWS-level rules every signature check applies:
//!   a JSON object without duplicate names, an `alg` that is a supported
//!   algorithm (with `none` in any spelling refused by name), and no `crit`.
//! * [`Header::from_object`]: latchkey's access-token profile on top: no
//!   embedded or referenced keys, no parameters besides `alg`, `kid` and
//!   `typ`, `typ` of `at+jwt`, and a well-formed `kid`.
//!
//! Order matters only for which error is reported; every rule applies.

use serde_json::Value;

use crate::algorithm::{Algorithm, Kid};
use crate::error::TokenError;
use crate::json::{Object, ObjectError, parse_object};
use crate::jws::{Parts, decode_part};

/// Header parameters that carry or point at a key (RFC 7515 §4.1.3–4.1.8).
/// The verifier's keys come only from its own key set, never from a token.
const KEY_PARAMETERS: [&str; 6] = ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"];

/// A header that passed latchkey's access-token rules.
///
/// Obtained from [`Header::decode_unverified`]; the signature has **not**
/// been checked, so treat the values as claims by an unknown party (for
/// example, to decide whether an unknown `kid` warrants refetching a JWKS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    alg: Algorithm,
    kid: Kid,
}

impl Header {
    /// Applies the length, structure and header rules of
    /// [`crate::Verifier::verify`] to `token`, without checking its
    /// signature or reading its claims.
    pub fn decode_unverified(token: &str) -> Result<Self, TokenError> {
        let parts = Parts::split(token)?;
        let mut object = decode_object(parts.header)?;
        let alg = jws_algorithm(&mut object)?;
        Self::from_object(alg, object)
    }

    /// The algorithm the token claims; the verifier still requires it to be
    /// the algorithm of the key named by `kid`.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key identifier the token names.
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// Applies the access-token profile to the header members left after
    /// [`jws_algorithm`] took `alg`.
    pub(crate) fn from_object(alg: Algorithm, mut object: Object) -> Result<Self, TokenError> {
        if KEY_PARAMETERS.iter().any(|name| object.has(name)) {
            return Err(TokenError::EmbeddedKey);
        }
        let typ = object.take("typ");
        let kid = object.take("kid");
        if !object.is_empty() {
            return Err(TokenError::UnexpectedHeaderParameter);
        }
        check_typ(typ)?;
        let kid = match kid {
            None => return Err(TokenError::MissingKid),
            Some(Value::String(kid)) => Kid::parse(&kid).map_err(|_| TokenError::InvalidKid)?,
            Some(_) => return Err(TokenError::InvalidKid),
        };
        Ok(Self { alg, kid })
    }
}

/// Base64url-decodes the header part and parses it as a JSON object.
pub(crate) fn decode_object(encoded: &str) -> Result<Object, TokenError> {
    let bytes = decode_part(encoded)?;
    parse_object(&bytes).map_err(|error| match error {
        ObjectError::Malformed => TokenError::MalformedHeader,
        ObjectError::Duplicate => TokenError::DuplicateHeaderParameter,
    })
}

/// Takes `alg` out of the header and applies the JWS-level rules.
pub(crate) fn jws_algorithm(object: &mut Object) -> Result<Algorithm, TokenError> {
    let alg = match object.take("alg") {
        None => return Err(TokenError::MissingAlgorithm),
        Some(Value::String(alg)) => alg,
        Some(_) => return Err(TokenError::MalformedHeader),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(TokenError::AlgNone);
    }
    let alg = Algorithm::parse(&alg).map_err(|_| TokenError::UnsupportedAlgorithm)?;
    if object.has("crit") {
        return Err(TokenError::CriticalHeader);
    }
    Ok(alg)
}

/// `typ` must be present and be `at+jwt`, with or without the
/// `application/` prefix, in any letter case (RFC 9068 §4, RFC 7515 §4.1.9).
fn check_typ(typ: Option<Value>) -> Result<(), TokenError> {
    let Some(Value::String(typ)) = typ else {
        return Err(TokenError::WrongType);
    };
    let short = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ.as_str(),
    };
    if short.eq_ignore_ascii_case("at+jwt") {
        Ok(())
    } else {
        Err(TokenError::WrongType)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typ(value: &str) -> Result<(), TokenError> {
        check_typ(Some(Value::String(value.to_owned())))
    }

    #[test]
    fn typ_accepts_the_rfc_9068_spellings_only() {
        for good in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+Jwt",
        ] {
            assert_eq!(typ(good), Ok(()), "{good}");
        }
        for bad in [
            "JWT",
            "jwt",
            "at+jwt ",
            "application/jwt",
            "application/",
            "",
            "é+jwt",
        ] {
            assert_eq!(typ(bad), Err(TokenError::WrongType), "{bad}");
        }
        assert_eq!(check_typ(None), Err(TokenError::WrongType));
        assert_eq!(
            check_typ(Some(Value::Bool(true))),
            Err(TokenError::WrongType)
        );
    }
}
