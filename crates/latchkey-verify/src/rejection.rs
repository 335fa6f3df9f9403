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
/// | `InsufficientUserAuthentication` | 401 | `insufficient_user_authentication` | `Bearer realm="latchkey", error="insufficient_user_authentication"` (with `max_age="N"` when an age was demanded; RFC 9470) |
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
    /// The token is valid but its sign-in does not meet the route's
    /// [`AuthRequirement`](crate::AuthRequirement): a missing `amr` value,
    /// or an `auth_time` older than `max_age` seconds (RFC 9470).
    InsufficientUserAuthentication {
        /// The maximum age demanded, in seconds, if any.
        max_age: Option<u64>,
    },
}

impl AuthRejection {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken
            | Self::InvalidToken
            | Self::InsufficientUserAuthentication { .. } => StatusCode::UNAUTHORIZED,
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
            Self::InsufficientUserAuthentication { .. } => "insufficient_user_authentication",
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
            Self::InsufficientUserAuthentication { .. } => {
                "A stronger or more recent sign-in is required."
            }
        }
    }

    fn challenge(self) -> Option<String> {
        let fixed = match self {
            Self::MissingToken => "Bearer realm=\"latchkey\"",
            Self::InvalidToken => "Bearer realm=\"latchkey\", error=\"invalid_token\"",
            Self::TokenInQuery => "Bearer realm=\"latchkey\", error=\"invalid_request\"",
            Self::Unavailable => return None,
            Self::InsufficientUserAuthentication { max_age } => {
                let base = "Bearer realm=\"latchkey\", error=\"insufficient_user_authentication\", \
                     error_description=\"A stronger or more recent sign-in is required\"";
                return Some(match max_age {
                    Some(age) => format!("{base}, max_age=\"{age}\""),
                    None => base.to_owned(),
                });
            }
        };
        Some(fixed.to_owned())
    }
}

impl From<VerifyError> for AuthRejection {
    fn from(error: VerifyError) -> Self {
        match error {
            VerifyError::IntrospectionFailed(_) | VerifyError::RevocationStateUnknown => {
                Self::Unavailable
            }
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
        if let Some(value) = self
            .challenge()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if self == Self::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
