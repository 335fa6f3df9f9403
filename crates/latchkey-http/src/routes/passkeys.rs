//! Passkeys: `/v1/passkeys/*`. Registering, listing and deleting need a
//! credential (cookies with `X-CSRF-Token`); signing in needs none, and
//! answers as the chosen flavour's password login.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_auth::LoginOptions;
use latchkey_auth::webauthn::{PublicKeyCredential, RegisterPublicKeyCredential};
use latchkey_store::PasskeyRecord;
use serde::{Deserialize, Serialize};

use super::NO_STORE;
use crate::auth::SameSiteLogin;
use crate::bearer::Credential;
use crate::caller::Caller;
use crate::error::{ApiError, Problem};
use crate::finish::{self, Issue};
use crate::json::AppJson;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterPasskeyRequest {
    /// The browser's `PublicKeyCredential` from `navigator.credentials.create`,
    /// in its JSON form (binary fields base64url).
    #[schema(value_type = super::webauthn_json::AttestationCredentialJson)]
    pub credential: RegisterPublicKeyCredential,
    /// A name for the passkey (at most 64 characters kept).
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// Whether it can be synced between devices (`swk`), or is bound to one (`hwk`).
    pub backup_eligible: bool,
    pub backup_state: bool,
}

impl From<&PasskeyRecord> for PasskeyView {
    fn from(p: &PasskeyRecord) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            created_at: p.created_at.to_rfc3339(),
            last_used_at: p.last_used_at.map(|t| t.to_rfc3339()),
            backup_eligible: p.backup_eligible,
            backup_state: p.backup_state,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeyView>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasskeyLoginRequest {
    /// From `POST /v1/passkeys/login/options`.
    pub challenge_id: String,
    /// The browser's `PublicKeyCredential` from `navigator.credentials.get`,
    /// in its JSON form.
    #[schema(value_type = super::webauthn_json::AssertionCredentialJson)]
    pub credential: PublicKeyCredential,
    /// Which credential to issue (as that flavour's password login answers).
    #[serde(default)]
    pub issue: Issue,
    /// Keep the cookies after the browser closes (cookie flavours).
    #[serde(default)]
    pub remember: bool,
}

/// Options for `navigator.credentials.create` (a discoverable credential,
/// user verification required), for the authenticated caller.
#[utoipa::path(post, path = "/v1/passkeys/register/options", tag = "passkeys",
    operation_id = "passkey_register_options",
    params(("X-CSRF-Token" = Option<String>, Header, description = "With a cookie credential")),
    responses(
        (status = 200, body = Object, description = "`{\"publicKey\": …}`, the JSON form of the creation options"),
        (status = 401, body = Problem, description = "unauthenticated or invalid_token"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 404, body = Problem, description = "passkeys_unavailable"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 503, body = Problem, description = "overloaded: too many ceremonies waiting"),
    ),
    security((), ("bearer" = [])))]
pub async fn register_options(
    State(state): State<AppState>,
    credential: Credential,
) -> Result<Response, ApiError> {
    let user = state
        .store
        .user_by_id(credential.user_id())
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let options = state.auth.start_passkey_registration(&user).await?;
    Ok((NO_STORE, AppJson(options)).into_response())
}

/// Register the passkey the browser created from the options.
#[utoipa::path(post, path = "/v1/passkeys/register", tag = "passkeys",
    operation_id = "passkey_register",
    request_body = RegisterPasskeyRequest,
    params(("X-CSRF-Token" = Option<String>, Header, description = "With a cookie credential")),
    responses(
        (status = 201, body = PasskeyView, description = "Registered"),
        (status = 401, body = Problem, description = "unauthenticated, invalid_token or passkey_refused"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 404, body = Problem, description = "passkeys_unavailable"),
        (status = 409, body = Problem, description = "conflict: the credential is registered already"),
    ),
    security((), ("bearer" = [])))]
pub async fn register(
    State(state): State<AppState>,
    credential: Credential,
    AppJson(body): AppJson<RegisterPasskeyRequest>,
) -> Result<Response, ApiError> {
    let record = state
        .auth
        .finish_passkey_registration(credential.user_id(), &body.credential, body.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        AppJson(PasskeyView::from(&record)),
    )
        .into_response())
}

/// The caller's passkeys.
#[utoipa::path(get, path = "/v1/passkeys", tag = "passkeys", operation_id = "passkey_list",
    responses(
        (status = 200, body = PasskeyList),
        (status = 401, body = Problem, description = "unauthenticated or invalid_token"),
    ),
    security((), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    credential: Credential,
) -> Result<Response, ApiError> {
    let passkeys = state.auth.passkeys(credential.user_id()).await?;
    let passkeys = passkeys.iter().map(PasskeyView::from).collect();
    Ok((NO_STORE, AppJson(PasskeyList { passkeys })).into_response())
}

/// Delete one of the caller's passkeys.
#[utoipa::path(delete, path = "/v1/passkeys/{id}", tag = "passkeys", operation_id = "passkey_delete",
    params(
        ("id" = String, Path, description = "Passkey id from the listing"),
        ("X-CSRF-Token" = Option<String>, Header, description = "With a cookie credential"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, description = "unauthenticated or invalid_token"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 404, body = Problem, description = "No such passkey of the caller's"),
    ),
    security((), ("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    credential: Credential,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    if state.auth.delete_passkey(credential.user_id(), &id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Options for `navigator.credentials.get` with a discoverable credential
/// (no username), and the `challenge_id` to answer with. Rate limited per
/// address; the ceremony lives five minutes and is used once.
#[utoipa::path(post, path = "/v1/passkeys/login/options", tag = "passkeys",
    operation_id = "passkey_login_options",
    responses(
        (status = 200, body = Object, description = "`{\"challenge_id\", \"publicKey\": …, \"mediation\"}`"),
        (status = 404, body = Problem, description = "passkeys_unavailable"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 503, body = Problem, description = "overloaded: too many ceremonies waiting"),
    ))]
pub async fn login_options(State(state): State<AppState>) -> Result<Response, ApiError> {
    let started = state.auth.start_passkey_login().await?;
    options_answer(started)
}

/// A sign-in ceremony's options as the browser's
/// `navigator.credentials.get` takes them, with the `challenge_id` to
/// answer with (the passkey sign-in and the passkey second step).
pub(crate) fn options_answer(started: LoginOptions) -> Result<Response, ApiError> {
    let mut body = serde_json::to_value(&started.options)
        .map_err(|e| ApiError::Internal(format!("WebAuthn options: {e}")))?;
    body["challenge_id"] = started.challenge_id.into();
    Ok((NO_STORE, AppJson(body)).into_response())
}

/// Sign in with a passkey alone; answers as the password login of the
/// flavour in `issue` (`session`, `tokens` or `cookie_jwt`).
#[utoipa::path(post, path = "/v1/passkeys/login", tag = "passkeys", operation_id = "passkey_login",
    request_body = PasskeyLoginRequest,
    responses(
        (status = 200, body = Object, description = "The flavour's login answer: `LoginResponse` + session cookie, `TokenPair`, or `CookieLoginResponse` + hybrid cookies"),
        (status = 401, body = Problem, description = "passkey_refused: unknown, spent or expired challenge, wrong origin, bad signature, unknown credential or a counter that did not move forward"),
        (status = 403, body = Problem, description = "csrf_failed: cross-site login"),
        (status = 404, body = Problem, description = "passkeys_unavailable"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    _: SameSiteLogin,
    client: Caller,
    headers: HeaderMap,
    AppJson(body): AppJson<PasskeyLoginRequest>,
) -> Result<Response, ApiError> {
    let outcome = state
        .auth
        .finish_passkey_login(&body.challenge_id, &body.credential)
        .await;
    match &outcome {
        Ok(_) => state.metrics.login("success"),
        Err(latchkey_auth::AuthError::PasskeyRefused) => state.metrics.login("passkey_refused"),
        Err(_) => {}
    }
    let principal = outcome?;
    finish::respond(
        &state,
        &client,
        &headers,
        &principal,
        body.issue.into(),
        body.remember,
    )
    .await
}
