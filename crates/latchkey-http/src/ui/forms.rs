//! The pages' forms and their errors. Each form is a type whose fields the
//! OpenAPI document shows as an `application/x-www-form-urlencoded` object.
//!
//! **Invariant:** a page route never answers with the framework's own
//! `text/plain` rejection or with problem JSON: a form it cannot read (wrong
//! content type, missing field, too large) and every error after that is an
//! HTML page with the pages' headers (see [`error_page`]).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{page, pages};
use crate::error::ApiError;

/// A form that carries the anti-forgery token.
pub trait CsrfField {
    fn csrf(&self) -> &str;
}

/// The forms that only carry the anti-forgery token (the sign-out and
/// end-session buttons).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CsrfOnly {
    /// The token in the page's hidden field.
    csrf_token: String,
}

impl CsrfField for CsrfOnly {
    fn csrf(&self) -> &str {
        &self.csrf_token
    }
}

/// The password change form.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordForm {
    csrf_token: String,
    pub(super) current_password: String,
    /// 8–256 characters, not the username.
    pub(super) new_password: String,
    /// The new password again (the page's form sends it; when present it
    /// must match).
    #[serde(default)]
    #[schema(value_type = String, required = false)]
    pub(super) confirm_password: Option<String>,
}

impl CsrfField for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf_token
    }
}

/// The sign-in form.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    pub(super) username: String,
    pub(super) password: String,
    /// Present (any value, `on` from the checkbox) to keep the session.
    #[schema(value_type = String, required = false)]
    pub(super) remember: Option<String>,
    /// Where to go once signed in (forward auth's original URL); followed
    /// only for `forward_auth.allowed_redirect_domains`.
    #[schema(value_type = String, required = false)]
    pub(super) rd: Option<String>,
}

/// `GET /login`'s query: `out` after signing out, `reset` after a
/// password reset, `rd` where to go once signed in.
#[derive(Deserialize, Default)]
pub struct LoginQuery {
    pub(super) out: Option<String>,
    /// After a password reset.
    pub(super) reset: Option<String>,
    pub(super) rd: Option<String>,
}

/// The sign-out form: the anti-forgery token and, optionally, where to go
/// afterwards (`rd`, as for signing in).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LogoutForm {
    csrf_token: String,
    #[schema(value_type = String, required = false)]
    pub(super) rd: Option<String>,
}

impl CsrfField for LogoutForm {
    fn csrf(&self) -> &str {
        &self.csrf_token
    }
}

/// `GET /account`'s query: which notice to show.
#[derive(Deserialize, Default)]
pub struct AccountQuery {
    pub(super) notice: Option<String>,
    /// Why the password form was refused (post/redirect/get).
    pub(super) password_error: Option<String>,
}

/// `Form<T>` whose rejection is an error page.
pub struct PageForm<T>(pub T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(form)) => Ok(Self(form)),
            Err(rejection) => Err(error_page(form_error(&rejection))),
        }
    }
}

/// Our error for a form that cannot be read (never echoing its values).
fn form_error(rejection: &FormRejection) -> ApiError {
    if crate::deadline::is_body_timeout(rejection) {
        return ApiError::RequestTimeout;
    }
    match rejection {
        FormRejection::InvalidFormContentType(_) => ApiError::UnsupportedMediaType,
        FormRejection::FailedToDeserializeForm(_)
        | FormRejection::FailedToDeserializeFormBody(_) => ApiError::Invalid {
            code: "invalid_request",
            detail: "The form is incomplete. Go back, reload the page and try again.".into(),
        },
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        _ => ApiError::BadRequest {
            code: "invalid_request",
            detail: "The form could not be read.".into(),
        },
    }
}

/// `e` as a page: its status, its `Retry-After`, its (safe) detail.
pub fn error_page(e: ApiError) -> Response {
    let status = e.status();
    let detail = match &e {
        ApiError::UnsupportedMediaType => {
            "This form must be sent as application/x-www-form-urlencoded.".to_owned()
        }
        _ => e.problem().detail,
    };
    let title = status.canonical_reason().unwrap_or("Error");
    // The problem response carries the headers that go with the error.
    let problem = e.into_response();
    let mut res = page(status, pages::error(title, &detail));
    if let Some(retry) = problem.headers().get(header::RETRY_AFTER) {
        res.headers_mut().insert(header::RETRY_AFTER, retry.clone());
    }
    for cookie in problem.headers().get_all(header::SET_COOKIE) {
        res.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    res
}
