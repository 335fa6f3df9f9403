//! Accounts: registration and password change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::{Password, PasswordError, UserId, Username};
use latchkey_store::{Keep, StoreError, User};
use serde::Deserialize;

use super::{NO_STORE, UserView};
use crate::bearer::Credential;
use crate::client::Client;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::login::authenticate;
use crate::random::random;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    /// 1–64 of `A-Z a-z 0-9 . _ - @ +`; case-insensitive.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@+-]+$")]
    pub username: String,
    /// 8–256 characters, never truncated, no NUL, not the username.
    #[schema(min_length = 8, max_length = 256, pattern = "^[^\\x00]*$")]
    pub password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 8–256 characters, never truncated, no NUL, not the username.
    #[schema(min_length = 8, max_length = 256, pattern = "^[^\\x00]*$")]
    pub new_password: String,
}

/// Create an account.
#[utoipa::path(post, path = "/v1/register", tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = UserView),
        (status = 403, body = Problem, description = "registration_disabled"),
        (status = 409, body = Problem, description = "username_taken"),
        (status = 422, body = Problem, description = "invalid_username, invalid_password (e.g. equal to the username), invalid_request"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    AppJson(body): AppJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    if !state.settings.allow_registration {
        return Err(ApiError::RegistrationDisabled);
    }
    let username = Username::parse(&body.username).map_err(|e| ApiError::Invalid {
        code: "invalid_username",
        detail: capitalise(&e.to_string()),
    })?;
    let password = Password::new_for(body.password, &username).map_err(policy_error)?;
    if state.store.user_by_name(&username).await?.is_some() {
        return Err(ApiError::UsernameTaken);
    }
    let user = User {
        id: UserId::from_random(random()?),
        username,
        password_hash: state.passwords.hash(password).await?,
        created_at: state.clock.now(),
    };
    match state.store.create_user(&user).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(ApiError::UsernameTaken),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(user_id = %user.id, "user registered");
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        AppJson(UserView::new(user.id, &user.username)),
    )
        .into_response())
}

/// Change the caller's password. Every other session of the user ends; the
/// calling session stays.
#[utoipa::path(post, path = "/v1/password", tag = "accounts",
    request_body = ChangePasswordRequest,
    params(("X-CSRF-Token" = Option<String>, Header, description = "Required with a session cookie")),
    responses(
        (status = 204, description = "Changed; other sessions ended"),
        (status = 401, body = Problem, description = "invalid_credentials (wrong current password) or unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 422, body = Problem, description = "invalid_password"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    client: Client,
    credential: Credential,
    AppJson(body): AppJson<ChangePasswordRequest>,
) -> Result<Response, ApiError> {
    let current = state
        .store
        .user_by_id(credential.user_id())
        .await?
        .ok_or(ApiError::Unauthenticated { clear: None })?;
    // The same check as a login: throttled, counted, constant-cost.
    let user = authenticate(
        &state,
        &client,
        current.username.as_str(),
        body.current_password,
    )
    .await?;
    let new = Password::new_for(body.new_password, &user.username).map_err(policy_error)?;
    let hash = state.passwords.hash(new).await?;
    // The calling session (or token family) stays; every other one ends.
    let keep = match &credential {
        Credential::Session(s) => Keep {
            session: Some(&s.session.handle),
            family: None,
        },
        Credential::Bearer(b) | Credential::CookieJwt(b) => Keep {
            session: None,
            family: Some(b.claims.sid.as_str()),
        },
    };
    let ended = state
        .store
        .replace_password(user.id, &hash, keep, state.revoke_at())
        .await?;
    state.ended(&ended);
    tracing::info!(
        user_id = %user.id,
        sessions_ended = ended.sessions.len(),
        families_revoked = ended.families.len(),
        "password changed"
    );
    Ok((StatusCode::NO_CONTENT, NO_STORE).into_response())
}

fn policy_error(e: PasswordError) -> ApiError {
    ApiError::Invalid {
        code: "invalid_password",
        detail: capitalise(&e.to_string()),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}
