//! JWS compact serialisation (RFC 7515 §7.1): splitting, base64url, and the
//! signature check shared by [`verify_signature_only`] and
//! [`crate::Verifier::verify`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::algorithm::Algorithm;
use crate::error::{SignError, TokenError};
use crate::header::{decode_object, jws_algorithm};
use crate::verification_key::VerificationKey;

/// Longest token accepted, in bytes: 8 KiB. Checked before any decoding,
/// so an oversized token costs a length comparison. latchkey's own tokens
/// are under 1 KiB (RS256 ones are the longest, about 700 bytes).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The three parts of a compact JWS, still base64url-encoded.
pub(crate) struct Parts<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    /// `header "." payload`: the bytes the signature covers.
    pub(crate) signing_input: &'a str,
}

impl<'a> Parts<'a> {
    /// Checks the length, then splits into exactly three parts. An empty
    /// signature part is reported as such (a "stripped" token).
    pub(crate) fn split(token: &'a str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }
        let mut pieces = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (pieces.next(), pieces.next(), pieces.next(), pieces.next())
        else {
            return Err(TokenError::NotThreeParts);
        };
        if signature.is_empty() {
            return Err(TokenError::MissingSignature);
        }
        let signing_input = &token[..header.len() + 1 + payload.len()];
        Ok(Self {
            header,
            payload,
            signature,
            signing_input,
        })
    }

    /// Decodes the signature and checks it over the signing input.
    pub(crate) fn check_signature(&self, key: &VerificationKey) -> Result<(), TokenError> {
        let signature = decode_part(self.signature)?;
        key.verify(self.signing_input.as_bytes(), &signature)
    }
}

/// Decodes one part: base64url, no padding, canonical trailing bits (so no
/// two distinct strings decode to the same bytes).
pub(crate) fn decode_part(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::BadBase64)
}

/// Checks only the JWS layer of `token` against `key`: length and
/// structure, a header that is a JSON object without duplicates, an `alg`
/// equal to `key.algorithm()` (never `none`), no `crit`, and the signature.
///
/// It does **not** look at `typ`, `kid` or the claims, so it accepts JWS
/// objects that are not latchkey access tokens (the RFC 7515 examples, for
/// one). Use [`crate::Verifier::verify`] to accept an access token; it
/// applies these same checks through the same code, plus the rest.
pub fn verify_signature_only(token: &str, key: &VerificationKey) -> Result<(), TokenError> {
    let parts = Parts::split(token)?;
    let mut header = decode_object(parts.header)?;
    let alg = jws_algorithm(&mut header)?;
    if alg != key.algorithm() {
        return Err(TokenError::AlgorithmMismatch);
    }
    parts.check_signature(key)
}

/// The header latchkey writes. Field order is the serialisation order.
#[derive(Serialize)]
struct OutgoingHeader<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'static str,
}

/// Builds `header.payload` for `claims` and hands it to `sign`, which
/// returns the raw signature; returns the compact token.
pub(crate) fn assemble<C: Serialize>(
    alg: Algorithm,
    kid: &str,
    claims: &C,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, SignError>,
) -> Result<String, SignError> {
    let header = OutgoingHeader {
        alg: alg.as_str(),
        kid,
        typ: "at+jwt",
    };
    let header = serde_json::to_vec(&header).map_err(|_| SignError::Encoding)?;
    let payload = serde_json::to_vec(claims).map_err(|_| SignError::Encoding)?;
    let mut token = String::with_capacity(MAX_TOKEN_LEN.min(2 * (header.len() + payload.len())));
    URL_SAFE_NO_PAD.encode_string(header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signature = sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    if token.len() > MAX_TOKEN_LEN {
        return Err(SignError::TooLong);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_requires_three_parts_and_a_signature() {
        assert!(Parts::split("a.b.c").is_ok());
        for bad in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e"] {
            assert_eq!(
                Parts::split(bad).err(),
                Some(TokenError::NotThreeParts),
                "{bad}"
            );
        }
        assert_eq!(
            Parts::split("a.b.").err(),
            Some(TokenError::MissingSignature)
        );
    }

    #[test]
    fn split_checks_length_first() {
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(Parts::split(&long).err(), Some(TokenError::TooLong));
        let parts = Parts::split("hh.ppp.s").ok();
        assert_eq!(parts.map(|p| p.signing_input), Some("hh.ppp"));
    }

    #[test]
    fn decoding_refuses_padding_and_non_canonical_trailing_bits() {
        assert_eq!(decode_part("YQ").ok(), Some(b"a".to_vec()));
        for bad in ["YQ==", "YR", "Y", "a+b/", "a b"] {
            assert_eq!(decode_part(bad).err(), Some(TokenError::BadBase64), "{bad}");
        }
    }
}
