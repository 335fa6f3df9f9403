//! Second factors: TOTP enrolment, recovery codes, the second step of a
//! login (`/v1/mfa/verify`) and the step-up of an existing sign-in
//! (`/v1/mfa/*`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_auth::{Reauthenticate, Reauthentication};
use serde::{Deserialize, Serialize};

use super::NO_STORE;
use crate::auth::SameSiteLogin;
use crate::bearer::Credential;
use crate::caller::Caller;
use crate::error::{ApiError, Problem};
use crate::finish::{self, CookieLoginResponse, LoginResponse};
use crate::json::AppJson;
use crate::login::{TokenPair, issuer_label, method_of, mfa_outcome, second_step};
use crate::routes::mfa_passkey::{PasskeyVerifyRequest, passkey_step};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpEnrolmentResponse {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/…` for a QR code.
    pub otpauth_uri: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeRequest {
    /// Six digits from the authenticator app.
    pub code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodesResponse {
    /// Ten single-use codes, shown this once.
    pub recovery_codes: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordRequest {
    /// The current password; may be left out within 5 minutes of signing in.
    #[serde(default)]
    pub password: Option<String>,
}

/// What `/v1/mfa/verify` answers: the body of the login that started it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum VerifyResponse {
    Session(LoginResponse),
    Tokens(TokenPair),
    Hybrid(CookieLoginResponse),
}

/// A second step: a code, or a passkey assertion.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum VerifyRequest {
    Code(CodeVerifyRequest),
    Passkey(Box<PasskeyVerifyRequest>),
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeVerifyRequest {
    /// From the `mfa_required` answer of the login.
    pub mfa_token: String,
    /// A TOTP code or a recovery code.
    pub code: String,
}

/// The caller, proving it is still the account holder.
fn who(client: &Caller, credential: &Credential, password: Option<String>) -> Reauthentication {
    Reauthentication {
        user: credential.user_id(),
        address: client.ip,
        password,
        auth_time: Some(credential.assurance().auth_time),
    }
}

/// Start enrolling TOTP: a pending factor, active once confirmed.
#[utoipa::path(post, path = "/v1/mfa/totp", tag = "mfa", operation_id = "mfa_totp_enrol",
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with a cookie")),
    responses(
        (status = 200, body = TotpEnrolmentResponse),
        (status = 401, body = Problem, description = "unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 409, body = Problem, description = "mfa_already_enabled"),
    ))]
pub async fn enrol_totp(
    State(state): State<AppState>,
    credential: Credential,
) -> Result<Response, ApiError> {
    let enrolment = state
        .auth
        .begin_totp(credential.user_id(), &issuer_label(&state))
        .await?;
    let body = TotpEnrolmentResponse {
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
    };
    Ok((NO_STORE, AppJson(body)).into_response())
}

/// Confirm the pending TOTP factor with a code; answers the first set of
/// recovery codes.
#[utoipa::path(post, path = "/v1/mfa/totp/confirm", tag = "mfa", operation_id = "mfa_totp_confirm",
    request_body = CodeRequest,
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with a cookie")),
    responses(
        (status = 200, body = RecoveryCodesResponse),
        (status = 401, body = Problem, description = "invalid_code or unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 409, body = Problem, description = "mfa_not_enabled: nothing pending"),
    ))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    credential: Credential,
    AppJson(body): AppJson<CodeRequest>,
) -> Result<Response, ApiError> {
    let outcome = state
        .auth
        .confirm_totp(credential.user_id(), &body.code)
        .await;
    state.metrics.mfa("totp", mfa_outcome(&outcome, "enrolled"));
    recovery_codes(outcome?)
}

/// Remove TOTP (and the recovery codes).
#[utoipa::path(delete, path = "/v1/mfa/totp", tag = "mfa", operation_id = "mfa_totp_remove",
    request_body = PasswordRequest,
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with a cookie")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, description = "invalid_credentials (wrong password) or unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed; reauthentication_required"),
        (status = 409, body = Problem, description = "mfa_not_enabled"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn remove_totp(
    State(state): State<AppState>,
    client: Caller,
    credential: Credential,
    AppJson(body): AppJson<PasswordRequest>,
) -> Result<Response, ApiError> {
    let who = who(&client, &credential, body.password);
    state.auth.remove_totp(who).await?;
    state.metrics.mfa("totp", "removed");
    Ok((StatusCode::NO_CONTENT, NO_STORE).into_response())
}

/// A new set of recovery codes; the old set is void.
#[utoipa::path(post, path = "/v1/mfa/recovery-codes", tag = "mfa", operation_id = "mfa_recovery_codes",
    request_body = PasswordRequest,
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with a cookie")),
    responses(
        (status = 200, body = RecoveryCodesResponse),
        (status = 401, body = Problem, description = "invalid_credentials (wrong password) or unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed; reauthentication_required"),
        (status = 409, body = Problem, description = "mfa_not_enabled"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    client: Caller,
    credential: Credential,
    AppJson(body): AppJson<PasswordRequest>,
) -> Result<Response, ApiError> {
    let who = who(&client, &credential, body.password);
    recovery_codes(state.auth.regenerate_recovery_codes(who).await?)
}

fn recovery_codes(codes: Vec<String>) -> Result<Response, ApiError> {
    let body = RecoveryCodesResponse {
        recovery_codes: codes,
    };
    Ok((NO_STORE, AppJson(body)).into_response())
}

/// Complete a login answered `mfa_required` with a code, or with a passkey
/// (`challenge_id` from `POST /v1/mfa/webauthn/options` and the browser's
/// assertion): the answer is the one the login that started it would have given (session cookie, bearer pair or
/// hybrid cookies).
#[utoipa::path(post, path = "/v1/mfa/verify", tag = "mfa", operation_id = "mfa_verify",
    request_body = VerifyRequest,
    responses(
        (status = 200, body = VerifyResponse,
            description = "As the login that started it: a session (and its cookie), a bearer pair or the hybrid cookies"),
        (status = 401, body = Problem, description = "invalid_code: a wrong code or a refused passkey (five end the mfa_token); invalid_mfa_token"),
        (status = 403, body = Problem, description = "csrf_failed: cross-site"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    _: SameSiteLogin,
    client: Caller,
    headers: HeaderMap,
    AppJson(body): AppJson<VerifyRequest>,
) -> Result<Response, ApiError> {
    let step = match body {
        VerifyRequest::Code(c) => second_step(&state, &client, &c.mfa_token, &c.code).await?,
        VerifyRequest::Passkey(p) => passkey_step(&state, &client, &p).await?,
    };
    finish::respond(
        &state,
        &client,
        &headers,
        &step.principal,
        step.flavour,
        step.remember,
    )
    .await
}

/// Re-check a second factor for the current sign-in (before a sensitive
/// operation).
#[utoipa::path(post, path = "/v1/mfa/step-up", tag = "mfa", operation_id = "mfa_step_up",
    request_body = CodeRequest,
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with a cookie")),
    responses(
        (status = 204, description = "The factor checked: the credential's amr gains it and its auth_time is now (access tokens minted from now on carry both)"),
        (status = 401, body = Problem, description = "invalid_code or unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn step_up(
    State(state): State<AppState>,
    client: Caller,
    credential: Credential,
    AppJson(body): AppJson<CodeRequest>,
) -> Result<Response, ApiError> {
    let raise = match &credential {
        Credential::Session(s) => Reauthenticate::Session(&s.secret_hash),
        Credential::Bearer(b) | Credential::CookieJwt(b) => Reauthenticate::Family(&b.claims.sid),
    };
    let outcome = state
        .auth
        .step_up(credential.user_id(), client.ip, &body.code, raise)
        .await;
    let method = outcome
        .as_ref()
        .map_or(method_of(&body.code), |(m, _)| m.name());
    state.metrics.mfa(method, mfa_outcome(&outcome, "step_up"));
    if outcome?.1.is_none() {
        return Err(ApiError::Unauthenticated { clear: None });
    }
    if let Credential::Session(s) = &credential {
        // The node's copy of the session holds the old assurance.
        state.forget_session(s.secret_hash.as_bytes());
    }
    Ok((StatusCode::NO_CONTENT, NO_STORE).into_response())
}
