//! `AppJson`: axum's `Json` with our problem JSON for every rejection.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(map_rejection(&rejection)),
        }
    }
}

fn map_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::JsonSyntaxError(_) => ApiError::BadRequest {
            code: "malformed_json",
            detail: "The body is not valid JSON.".into(),
        },
        JsonRejection::JsonDataError(e) => ApiError::Invalid {
            code: "invalid_request",
            detail: safe_data_error(&e.body_text()),
        },
        JsonRejection::BytesRejection(b) if crate::deadline::is_body_timeout(b) => {
            ApiError::RequestTimeout
        }
        JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge
        }
        _ => ApiError::BadRequest {
            code: "invalid_request",
            detail: "The body could not be read.".into(),
        },
    }
}

/// serde's message can quote the offending value (a password sent as the
/// wrong type, say), so only the messages that name a field, never a value,
/// are passed on.
fn safe_data_error(text: &str) -> String {
    for marker in ["missing field `", "unknown field `"] {
        if let Some(start) = text.find(marker) {
            let rest = &text[start + marker.len()..];
            if let Some(end) = rest.find('`') {
                let what = marker.trim_end_matches(" `");
                return format!("The body has a {what}: `{}`.", &rest[..end]);
            }
        }
    }
    "The body has a field of the wrong type.".into()
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_errors_never_echo_values() {
        let msg = "Failed to deserialize the JSON body into the target type: remember: \
                   invalid type: string \"hunter2hunter2\", expected a boolean at line 1 column 9";
        assert!(!safe_data_error(msg).contains("hunter2"));
        let missing = "Failed to deserialize: missing field `password` at line 1 column 20";
        assert_eq!(
            safe_data_error(missing),
            "The body has a missing field: `password`."
        );
    }
}
