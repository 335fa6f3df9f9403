//! The HTTP answer to a refused request: RFC 9457 problem JSON with a
//! stable `code`, the same shape and codes latchkey itself uses, and the
//! RFC 6750 `WWW-Authenticate` challenge.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::VerifyError;

/// Why a request was not let through, as the extractor and the layer
/// answer it.
///
/// | variant | status | `code` | `WWW-Authenticate` |
/// | --- | --- | --- | --- |
/// | `MissingToken` | 401 | `unauthenticated` | `Bearer realm="latchkey"` |
/// | `InvalidToken` | 401 | `invalid_token` | `Bearer realm="latchkey", error="invalid_token"` |
/// | `TokenInQuery` | 400 | `token_in_query` | `Bearer realm="latchkey", error="invalid_request"` |
/// | `Unavailable` | 503 | `introspection_unavailable` | — (`Retry-After: 1`) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No `Authorization` header.
    MissingToken,
    /// The header is malformed, not `Bearer`, repeated, or its token was
    /// refused (including "inactive" from introspection).
    InvalidToken,
    /// The query string carries `access_token` (RFC 6750 §2.3): refused
    /// whatever else the request carries, because URLs end up in logs.
    TokenInQuery,
    /// Introspection is configured and gave no answer: the token may be
    /// fine, but cannot be accepted now (fail closed).
    Unavailable,
}

impl AuthRejection {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::TokenInQuery => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The problem's stable `code`.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingToken => "unauthenticated",
            Self::InvalidToken => "invalid_token",
            Self::TokenInQuery => "token_in_query",
            Self::Unavailable => "introspection_unavailable",
        }
    }

    fn detail(self) -> &'static str {
        match self {
            Self::MissingToken => "A bearer access token is required.",
            Self::InvalidToken => "The access token is invalid, expired or revoked.",
            Self::TokenInQuery => {
                "Access tokens are accepted in the Authorization header, never in the URL."
            }
            Self::Unavailable => "The access token cannot be checked right now; try again.",
        }
    }

    fn challenge(self) -> Option<&'static str> {
        match self {
            Self::MissingToken => Some("Bearer realm=\"latchkey\""),
            Self::InvalidToken => Some("Bearer realm=\"latchkey\", error=\"invalid_token\""),
            Self::TokenInQuery => Some("Bearer realm=\"latchkey\", error=\"invalid_request\""),
            Self::Unavailable => None,
        }
    }
}

impl From<VerifyError> for AuthRejection {
    fn from(error: VerifyError) -> Self {
        match error {
            VerifyError::IntrospectionFailed(_) => Self::Unavailable,
            _ => Self::InvalidToken,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({
            "type": format!("urn:latchkey:problem:{}", self.code()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.detail(),
            "code": self.code(),
        });
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.challenge() {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if self == Self::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
