//! Errors, without HTTP in them (the HTTP answer is [`crate::Rejection`]).
//! None carries token text or a secret, so all are safe to log.

use latchkey_tokens::{KeyError, TokenError};
use thiserror::Error;

/// Why [`crate::LatchkeyVerifier::verify`] refused a token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A local check failed: signature, key, header, issuer, audience,
    /// type or time. [`TokenError::UnknownKid`] means the `kid` was still
    /// unknown after the refetch the rate limit allowed (or the JWKS could
    /// not be fetched).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Introspection answered that the token is not active (revoked, or
    /// its session ended).
    #[error("token is not active (introspection)")]
    Inactive,
    /// Introspection is configured but gave no usable answer (down, slow,
    /// refused our client credentials, or answered nonsense). The token is
    /// refused: the verifier fails closed.
    #[error("introspection failed: {0}")]
    IntrospectionFailed(FetchError),
    /// The revocation feed lists the token (its `jti`, its session, or
    /// its user since before it was issued).
    #[error("token is revoked (revocation feed)")]
    Revoked,
    /// The revocation feed is configured but has not answered within its
    /// `max_silence`: a revocation could be missing, so every token is
    /// refused.
    #[error("the revocation feed is silent; refusing tokens")]
    RevocationStateUnknown,
}

/// Why the JWKS could not be refreshed ([`crate::LatchkeyVerifier::refresh`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The request failed or the answer was not a JSON document.
    #[error("JWKS fetch failed: {0}")]
    Fetch(FetchError),
    /// The document is not a JWKS whose every key latchkey-tokens accepts.
    #[error("JWKS is invalid: {0}")]
    InvalidKeys(KeyError),
}

/// An HTTP exchange with latchkey that gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Connection, timeout or protocol failure (reqwest's description,
    /// which names the URL but never a credential or token).
    #[error("request failed: {0}")]
    Request(String),
    /// A status other than 200.
    #[error("unexpected status {0}")]
    Status(u16),
    /// The body exceeded the size limit.
    #[error("response body is too large")]
    TooLarge,
    /// The body is not a JSON object.
    #[error("response body is not a JSON object")]
    NotJson,
}

impl From<reqwest::Error> for FetchError {
    fn from(error: reqwest::Error) -> Self {
        // reqwest's own message names only the URL; its causes say why.
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Request(message)
    }
}

/// The verifier could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A configured URL does not parse or is not `http`/`https`.
    #[error("`{0}` is not an http(s) URL")]
    InvalidUrl(&'static str),
    /// The HTTP client could not be created.
    #[error("HTTP client: {0}")]
    HttpClient(String),
}
