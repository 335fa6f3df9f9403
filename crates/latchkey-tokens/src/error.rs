//! Errors. None of them carries token text, a `kid` read from a token, or
//! key bytes, so `Debug` and `Display` are safe to log.

use thiserror::Error;

/// Why a token was refused. One variant per reason, so tests can pin each
/// rule; HTTP callers map all of them to `401 invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than [`crate::MAX_TOKEN_LEN`] bytes (checked before decoding).
    #[error("token is too long")]
    TooLong,
    /// Not exactly three `.`-separated parts.
    #[error("token is not three dot-separated parts")]
    NotThreeParts,
    /// A part is not unpadded, canonical base64url.
    #[error("token part is not base64url")]
    BadBase64,
    /// The third part is empty (`header.payload.`).
    #[error("token has no signature")]
    MissingSignature,
    /// The header is not a JSON object of the expected shape.
    #[error("token header is malformed")]
    MalformedHeader,
    /// A header parameter appears twice.
    #[error("token header repeats a parameter")]
    DuplicateHeaderParameter,
    /// The header has no `alg`.
    #[error("token header has no algorithm")]
    MissingAlgorithm,
    /// `alg` is `none` (in any letter case).
    #[error("unsigned tokens are not accepted")]
    AlgNone,
    /// `alg` names an algorithm latchkey does not support.
    #[error("token algorithm is not supported")]
    UnsupportedAlgorithm,
    /// The header carries `crit`; latchkey understands no extensions.
    #[error("token header has critical extensions")]
    CriticalHeader,
    /// The header carries its own key or a key reference (`jwk`, `jku`,
    /// `x5u`, `x5c`, `x5t`, `x5t#S256`).
    #[error("token header embeds or references a key")]
    EmbeddedKey,
    /// The header carries a parameter latchkey never issues.
    #[error("token header has an unexpected parameter")]
    UnexpectedHeaderParameter,
    /// `typ` is missing or not `at+jwt` / `application/at+jwt`.
    #[error("token is not an access token")]
    WrongType,
    /// The header has no `kid`.
    #[error("token header has no key id")]
    MissingKid,
    /// The `kid` is not `[A-Za-z0-9_-]{1,64}`.
    #[error("token key id is malformed")]
    InvalidKid,
    /// No key with this `kid` is known.
    #[error("token key id is unknown")]
    UnknownKid,
    /// The key found by `kid` is for a different algorithm than `alg`.
    #[error("token algorithm does not match its key")]
    AlgorithmMismatch,
    /// The key was rotated out and is past its `not_after`.
    #[error("token key has been retired")]
    KeyRetired,
    /// An ECDSA signature with `r` or `s` zero or not below the group order.
    #[error("token signature is degenerate")]
    DegenerateSignature,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    InvalidSignature,
    /// The payload is not a JSON object.
    #[error("token claims are malformed")]
    MalformedClaims,
    /// A claim appears twice.
    #[error("token claims repeat a name")]
    DuplicateClaim,
    /// A required claim is absent.
    #[error("token claim `{0}` is missing")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type (for example a string `exp`).
    #[error("token claim `{0}` has the wrong type")]
    InvalidClaim(&'static str),
    /// `iss` is not the expected issuer.
    #[error("token issuer is wrong")]
    WrongIssuer,
    /// `aud` does not name (or contain) the expected audience.
    #[error("token audience is wrong")]
    WrongAudience,
    /// `now >= exp + leeway`.
    #[error("token has expired")]
    Expired,
    /// `nbf > now + leeway`.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iat > now + leeway`.
    #[error("token was issued in the future")]
    IssuedInFuture,
}

/// A key could not be generated, loaded or described.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not one of `EdDSA`, `ES256`, `RS256`, `HS256`.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// A `kid` outside `[A-Za-z0-9_-]{1,64}`.
    #[error("invalid key id")]
    InvalidKid,
    /// Two keys with the same `kid` in one set.
    #[error("duplicate key id")]
    DuplicateKid,
    /// The key bytes do not form a key for the stated algorithm.
    #[error("key material is invalid for its algorithm")]
    InvalidKey,
    /// An HS256 secret shorter than 32 bytes.
    #[error("HMAC secret is too short")]
    SecretTooShort,
    /// The stored public JWK does not match the private key.
    #[error("stored public key does not match the private key")]
    PublicKeyMismatch,
    /// A JWK is malformed, symmetric, or lacks `kid`/`alg`.
    #[error("invalid JWK")]
    InvalidJwk,
    /// The OS random source or key generation failed.
    #[error("key generation failed")]
    Random,
}

/// A token could not be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SignError {
    /// The claims could not be serialised.
    #[error("claims could not be encoded")]
    Encoding,
    /// The token would exceed [`crate::MAX_TOKEN_LEN`], so no verifier
    /// would accept it.
    #[error("token would be too long")]
    TooLong,
    /// The signing primitive failed.
    #[error("signing failed")]
    Crypto,
}

/// Sealing or opening a private key at rest failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SealError {
    /// The random nonce or the cipher failed while sealing.
    #[error("sealing failed")]
    Seal,
    /// Shorter than a nonce plus a tag: not something [`crate::seal`] made.
    #[error("sealed data is truncated")]
    Truncated,
    /// Wrong master key, wrong associated data (`kid`), or altered bytes.
    #[error("sealed data could not be authenticated")]
    Unauthentic,
}
