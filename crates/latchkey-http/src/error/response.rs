//! An `ApiError` as an HTTP answer: problem JSON, never cached, with the
//! headers that go with the error (`WWW-Authenticate`, `Retry-After`, …).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::StoreUnavailable(cause) => tracing::error!(%cause, "store unavailable"),
            Self::Internal(cause) => tracing::error!(%cause, "internal error"),
            _ => {}
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut res = (status, body).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        self.error_headers(h);
        res
    }
}

impl ApiError {
    /// The headers that go with this error.
    fn error_headers(&self, h: &mut axum::http::HeaderMap) {
        match self {
            Self::Unauthenticated { clear } => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"latchkey\""),
                );
                if let Some(cookie) = clear {
                    h.insert(header::SET_COOKIE, cookie.clone());
                }
            }
            Self::InvalidToken => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"latchkey\", error=\"invalid_token\""),
                );
            }
            Self::InvalidClient => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"latchkey\""),
                );
            }
            Self::InvalidAdminKey => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"latchkey-admin\""),
                );
            }
            Self::InvalidCredentials | Self::MfaRequired { .. } => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"latchkey\""),
                );
            }
            Self::RateLimited { retry_after } => {
                h.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.as_secs().max(1)),
                );
            }
            Self::RequestTimeout => {
                h.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Self::Overloaded | Self::StoreUnavailable(_) | Self::RevocationStateUnknown => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
    }
}
