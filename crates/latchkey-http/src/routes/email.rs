//! E-mail: `/v1/email*` and `/v1/password/{forgot,reset}`. Without
//! `[email]` every route answers `501 email_not_configured`. The routes a
//! stranger can reach are limited per client address (`limits`) and, for
//! sending, per recipient (`latchkey_auth::email`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_auth::email::{AddressChange, Job, parse_address};
use latchkey_auth::{AuthError, Authentication, Flavour};
use serde::{Deserialize, Serialize};

use super::NO_STORE;
use crate::auth::SameSiteLogin;
use crate::bearer::Credential;
use crate::caller::Caller;
use crate::error::{ApiError, Problem};
use crate::finish::{self, Issue};
use crate::json::AppJson;
use crate::login::device;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EmailRequest {
    /// `local@domain`, at most 254 characters (64 before the `@`); no
    /// spaces, controls or characters that need quoting.
    #[schema(
        max_length = 254,
        pattern = r#"^[^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:"]{1,64}@[^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:".]([^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:"]*[^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:".])?$"#
    )]
    pub email: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LinkTokenRequest {
    /// The `token` of the link's query string.
    pub token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetRequest {
    /// The `token` of the reset link's query string.
    pub token: String,
    /// 8–256 characters, never truncated, no NUL, not the username.
    #[schema(min_length = 8, max_length = 256, pattern = "^[^\\x00]*$")]
    pub new_password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeLoginRequest {
    pub email: String,
    /// The 6-digit code from the message.
    #[schema(example = "012345")]
    pub code: String,
    /// Which credential to issue (as that flavour's password login answers).
    #[serde(default)]
    pub issue: Issue,
    /// Keep the cookies after the browser closes (cookie flavours).
    #[serde(default)]
    pub remember: bool,
}

/// The user's address as `/v1/me` and `/v1/session` show it (read only
/// when e-mail is configured, so those stay free of it otherwise).
#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct AddressView {
    /// The address as entered, when the user has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the address was verified (with `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl AddressView {
    pub async fn of(state: &AppState, user: latchkey_core::UserId) -> Result<Self, ApiError> {
        if state.settings.email.is_none() {
            return Ok(Self::default());
        }
        Ok(match state.store.address_of(user).await? {
            Some(a) => Self {
                email: Some(a.email),
                email_verified: Some(a.verified),
            },
            None => Self::default(),
        })
    }
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, NO_STORE).into_response()
}

/// Set or change the caller's address: it is stored unverified and a
/// verification link is mailed to it. Replacing an address needs a sign-in
/// less than 5 minutes old, and the old address is told.
#[utoipa::path(post, path = "/v1/email", tag = "email", operation_id = "email_set",
    request_body = EmailRequest,
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with a session cookie")),
    responses(
        (status = 202, description = "Stored unverified; a verification link is on its way"),
        (status = 401, body = Problem, description = "unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed, reauthentication_required"),
        (status = 409, body = Problem, description = "email_taken"),
        (status = 422, body = Problem, description = "invalid_email"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 501, body = Problem, description = "email_not_configured"),
    ))]
pub async fn set(
    State(state): State<AppState>,
    credential: Credential,
    AppJson(body): AppJson<EmailRequest>,
) -> Result<Response, ApiError> {
    state.auth.email_settings()?;
    let recent = state.auth.recently_authenticated(&credential.assurance());
    let change = AddressChange {
        user: credential.user_id(),
        email: &body.email,
        recent,
    };
    state.auth.change_email(change).await?;
    Ok(accepted())
}

/// Verify an address with the token of the link mailed to it.
#[utoipa::path(post, path = "/v1/email/verify", tag = "email", operation_id = "email_verify",
    request_body = LinkTokenRequest,
    responses(
        (status = 204, description = "Verified"),
        (status = 401, body = Problem, description = "invalid_link: unknown, used or expired, or the address changed since"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 501, body = Problem, description = "email_not_configured"),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    AppJson(body): AppJson<LinkTokenRequest>,
) -> Result<Response, ApiError> {
    state.auth.verify_email(&body.token).await?;
    Ok((StatusCode::NO_CONTENT, NO_STORE).into_response())
}

/// Ask for a password-reset link. The answer is the same, and takes the
/// same time, whether or not the address is known: a known, verified
/// address is mailed a single-use link (30 minutes).
#[utoipa::path(post, path = "/v1/password/forgot", tag = "email", operation_id = "password_forgot",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted, whether or not the address is known"),
        (status = 422, body = Problem, description = "invalid_email"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 501, body = Problem, description = "email_not_configured"),
        (status = 503, body = Problem, description = "overloaded"),
    ))]
pub async fn forgot(
    State(state): State<AppState>,
    AppJson(body): AppJson<EmailRequest>,
) -> Result<Response, ApiError> {
    queue(&state, &body, |email| Job::Reset { email })
}

/// Queues the job `job` makes for the address in `body` (for the node's
/// worker: the answer does not wait on, or tell, whether it is known).
fn queue(
    state: &AppState,
    body: &EmailRequest,
    job: impl FnOnce(String) -> Job,
) -> Result<Response, ApiError> {
    state.auth.email_settings()?;
    let email = parse_address(&body.email)?;
    state.auth.queue_job(job(email))?;
    Ok(accepted())
}

/// Set a new password with a reset link's token. Every session, refresh
/// family and access token of the user ends; a notice is mailed.
#[utoipa::path(post, path = "/v1/password/reset", tag = "email", operation_id = "password_reset",
    request_body = ResetRequest,
    responses(
        (status = 204, description = "Reset; every session and token of the user ended"),
        (status = 401, body = Problem, description = "invalid_link: unknown, used or expired"),
        (status = 422, body = Problem, description = "invalid_password (the link stays usable)"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 501, body = Problem, description = "email_not_configured"),
        (status = 503, body = Problem, description = "overloaded"),
    ))]
pub async fn reset(
    State(state): State<AppState>,
    AppJson(body): AppJson<ResetRequest>,
) -> Result<Response, ApiError> {
    let ended = state
        .auth
        .reset_password(&body.token, body.new_password)
        .await?;
    state.ended(&ended);
    Ok((StatusCode::NO_CONTENT, NO_STORE).into_response())
}

/// Ask for a sign-in code. The answer is the same whether or not the
/// address is known: a known, verified address is mailed a 6-digit code
/// (single use, 10 minutes, 5 tries).
#[utoipa::path(post, path = "/v1/email/code", tag = "email", operation_id = "email_code",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted, whether or not the address is known"),
        (status = 422, body = Problem, description = "invalid_email"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 501, body = Problem, description = "email_not_configured"),
        (status = 503, body = Problem, description = "overloaded"),
    ))]
pub async fn code(
    State(state): State<AppState>,
    AppJson(body): AppJson<EmailRequest>,
) -> Result<Response, ApiError> {
    queue(&state, &body, |email| Job::Code { email })
}

/// Sign in with a mailed code; answers as the password login of the
/// flavour in `issue` (`amr` is `email`). An account with a second factor
/// gets `mfa_required`, as after a password.
#[utoipa::path(post, path = "/v1/email/login", tag = "email", operation_id = "email_login",
    request_body = CodeLoginRequest,
    responses(
        (status = 200, body = Object, description = "The flavour's login answer: `LoginResponse` + session cookie, `TokenPair`, or `CookieLoginResponse` + hybrid cookies"),
        (status = 401, body = Problem, description = "invalid_code (unknown address, wrong, used or expired code: one answer), mfa_required"),
        (status = 403, body = Problem, description = "csrf_failed: cross-site login"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 501, body = Problem, description = "email_not_configured"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    _: SameSiteLogin,
    client: Caller,
    headers: HeaderMap,
    AppJson(body): AppJson<CodeLoginRequest>,
) -> Result<Response, ApiError> {
    let flavour = Flavour::from(body.issue);
    let outcome = state
        .auth
        .sign_in_with_code(client.ip, &body.email, &body.code)
        .await;
    match &outcome {
        Ok(_) => state.metrics.login("success"),
        Err(AuthError::InvalidCode) => state.metrics.login("invalid_code"),
        Err(AuthError::RateLimited { .. }) => state.metrics.login("rate_limited"),
        Err(_) => {}
    }
    let principal = match outcome? {
        Authentication::Principal(p) => p,
        Authentication::Challenge(mut challenge) => {
            let mfa_token = state
                .auth
                .start_pending_login(&mut challenge, flavour, body.remember, &device(&client))
                .await?;
            return Err(ApiError::MfaRequired {
                mfa_token,
                methods: challenge.accepts.iter().map(|m| m.name()).collect(),
            });
        }
    };
    finish::respond(
        &state,
        &client,
        &headers,
        &principal,
        flavour,
        body.remember,
    )
    .await
}
