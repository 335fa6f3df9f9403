//! The e-mail pages: `/forgot` (ask for a reset link), `/reset` (choose a
//! new password with it), `/verify` (confirm an address; the link opens a
//! page whose button posts, so a mail scanner that follows links verifies
//! nothing), and the account page's address form. Script-free, under the
//! UI's strict CSP; the anonymous forms are guarded like the sign-in form
//! (same-site only), the account form by its CSRF token.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_auth::email::{AddressChange, Job, parse_address};
use serde::Deserialize;

use super::forms::{CsrfField, PageForm, error_page};
use super::{SameSitePage, UiForm, email_pages as pages, page, see_other};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct TokenQuery {
    /// The link's token.
    pub token: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ForgotForm {
    #[schema(
        max_length = 254,
        pattern = r#"^[^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:"]{1,64}@[^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:".]([^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:"]*[^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:".])?$"#
    )]
    pub email: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetForm {
    pub token: String,
    pub new_password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VerifyForm {
    pub token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddressForm {
    pub csrf_token: String,
    pub email: String,
}

impl CsrfField for AddressForm {
    fn csrf(&self) -> &str {
        &self.csrf_token
    }
}

fn token_of(q: Result<Query<TokenQuery>, QueryRejection>) -> String {
    q.ok().and_then(|Query(q)| q.token).unwrap_or_default()
}

/// A page that needs `[email]`: the error page without it.
fn unconfigured(state: &AppState) -> Option<Response> {
    state
        .auth
        .email_settings()
        .err()
        .map(|e| error_page(e.into()))
}

/// Ask for a password-reset link.
#[utoipa::path(get, path = "/forgot", tag = "ui", operation_id = "ui_forgot_page",
    responses((status = 200, content_type = "text/html", body = String),
              (status = 501, content_type = "text/html", body = String, description = "E-mail is not configured")))]
pub async fn forgot_page(State(state): State<AppState>) -> Response {
    if let Some(r) = unconfigured(&state) {
        return r;
    }
    page(StatusCode::OK, pages::forgot(None))
}

/// Send the reset link (the same page whether or not the address is known).
#[utoipa::path(post, path = "/forgot", tag = "ui", operation_id = "ui_forgot",
    request_body(content = ForgotForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, content_type = "text/html", body = String, description = "The same answer for every address"),
              (status = 403, content_type = "text/html", body = String, description = "Cross-site form"),
              (status = 422, content_type = "text/html", body = String, description = "Not an address"),
              (status = 501, content_type = "text/html", body = String, description = "E-mail is not configured")))]
pub async fn forgot_submit(
    State(state): State<AppState>,
    _: SameSitePage,
    PageForm(form): PageForm<ForgotForm>,
) -> Response {
    if let Some(r) = unconfigured(&state) {
        return r;
    }
    let Ok(email) = parse_address(&form.email) else {
        let message = "That is not an e-mail address.";
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::forgot(Some(message)),
        );
    };
    match state.auth.queue_job(Job::Reset { email }) {
        Ok(()) => page(StatusCode::OK, pages::forgot_sent()),
        Err(e) => error_page(e.into()),
    }
}

/// Choose a new password (from a reset link).
#[utoipa::path(get, path = "/reset", tag = "ui", operation_id = "ui_reset_page",
    params(TokenQuery),
    responses((status = 200, content_type = "text/html", body = String),
              (status = 501, content_type = "text/html", body = String, description = "E-mail is not configured")))]
pub async fn reset_page(
    State(state): State<AppState>,
    q: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    if let Some(r) = unconfigured(&state) {
        return r;
    }
    page(StatusCode::OK, pages::reset(&token_of(q), None))
}

/// Set the new password; every session and token of the account ends.
#[utoipa::path(post, path = "/reset", tag = "ui", operation_id = "ui_reset",
    request_body(content = ResetForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Reset: to /login"),
              (status = 401, content_type = "text/html", body = String, description = "The link is invalid, used or expired"),
              (status = 403, content_type = "text/html", body = String, description = "Cross-site form"),
              (status = 422, content_type = "text/html", body = String, description = "The form again: the policy refused the password"),
              (status = 501, content_type = "text/html", body = String, description = "E-mail is not configured")))]
pub async fn reset_submit(
    State(state): State<AppState>,
    _: SameSitePage,
    PageForm(form): PageForm<ResetForm>,
) -> Response {
    match state
        .auth
        .reset_password(&form.token, form.new_password)
        .await
    {
        Ok(ended) => {
            state.ended(&ended);
            see_other("/login?reset=1")
        }
        Err(latchkey_auth::AuthError::Invalid { detail, .. }) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::reset(&form.token, Some(&detail)),
        ),
        Err(e) => error_page(e.into()),
    }
}

/// Confirm an address (from a verification link): a button that posts.
#[utoipa::path(get, path = "/verify", tag = "ui", operation_id = "ui_verify_page",
    params(TokenQuery),
    responses((status = 200, content_type = "text/html", body = String),
              (status = 501, content_type = "text/html", body = String, description = "E-mail is not configured")))]
pub async fn verify_page(
    State(state): State<AppState>,
    q: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    if let Some(r) = unconfigured(&state) {
        return r;
    }
    page(StatusCode::OK, pages::verify(&token_of(q)))
}

/// Verify the address.
#[utoipa::path(post, path = "/verify", tag = "ui", operation_id = "ui_verify",
    request_body(content = VerifyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, content_type = "text/html", body = String, description = "Verified"),
              (status = 401, content_type = "text/html", body = String, description = "The link is invalid, used or expired"),
              (status = 403, content_type = "text/html", body = String, description = "Cross-site form"),
              (status = 501, content_type = "text/html", body = String, description = "E-mail is not configured")))]
pub async fn verify_submit(
    State(state): State<AppState>,
    _: SameSitePage,
    PageForm(form): PageForm<VerifyForm>,
) -> Response {
    match state.auth.verify_email(&form.token).await {
        Ok(_) => page(StatusCode::OK, pages::verified()),
        Err(e) => error_page(e.into()),
    }
}

/// Set or change the account's address from the account page.
#[utoipa::path(post, path = "/account/email", tag = "ui", operation_id = "ui_account_email",
    request_body(content = AddressForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To /account with a notice"),
              (status = 303, description = "Not signed in: to /login"),
              (status = 403, content_type = "text/html", body = String, description = "Forged form, or the sign-in is not recent"),
              (status = 409, content_type = "text/html", body = String, description = "The address belongs to another account"),
              (status = 422, content_type = "text/html", body = String, description = "Not an address"),
              (status = 501, content_type = "text/html", body = String, description = "E-mail is not configured")))]
pub async fn account_email(
    State(state): State<AppState>,
    UiForm { auth, form }: UiForm<AddressForm>,
) -> Response {
    let change = AddressChange {
        user: auth.session.user_id,
        email: &form.email,
        recent: state.auth.recently_authenticated(&auth.session.assurance),
    };
    match state.auth.change_email(change).await {
        Ok(()) => see_other("/account?notice=email"),
        Err(latchkey_auth::AuthError::ReauthenticationRequired) => {
            let why =
                "Changing the address needs a recent sign-in: sign out, sign in again and retry.";
            super::render_account(&state, &auth, None, Some(why), StatusCode::FORBIDDEN).await
        }
        Err(e) => error_page(ApiError::from(e)),
    }
}
