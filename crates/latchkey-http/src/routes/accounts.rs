//! Accounts: registration and password change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_auth::password_change::{capitalise, policy_error};
use latchkey_auth::{AuthError, PasswordChange};
use latchkey_core::{Password, UserId, Username};
use latchkey_store::{Keep, StoreError, User};
use serde::Deserialize;

use super::{NO_STORE, UserView};
use crate::bearer::Credential;
use crate::caller::Caller;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::login::apply_password_change;
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
    /// An address to verify (a verification link is mailed to it); needs
    /// `[email]`.
    #[serde(default)]
    #[schema(
        max_length = 254,
        pattern = r#"^[^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:"]{1,64}@[^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:".]([^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:"]*[^\s\x00-\x1f\x7f-\x9f@<>()\[\]\\,;:".])?$"#
    )]
    pub email: Option<String>,
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
        (status = 409, body = Problem, description = "username_taken, email_taken"),
        (status = 422, body = Problem, description = "invalid_username, invalid_password (e.g. equal to the username), invalid_email, invalid_request"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 501, body = Problem, description = "email_not_configured (an e-mail was given)"),
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
    let password =
        Password::new_for(body.password, &username).map_err(|e| ApiError::from(policy_error(e)))?;
    if let Some(email) = &body.email {
        state.auth.email_settings()?;
        latchkey_auth::email::parse_address(email)?;
    }
    if state.store.user_by_name(&username).await?.is_some() {
        return Err(ApiError::UsernameTaken);
    }
    let user = User {
        id: UserId::from_random(random()?),
        username,
        password_hash: Some(state.passwords.hash(password).await?),
        created_at: state.clock.now(),
        disabled_at: None,
    };
    let created = match &body.email {
        Some(email) => state.auth.create_user_with_email(&user, email).await,
        None => state.store.create_user(&user).await.map_err(Into::into),
    };
    match created {
        Ok(()) => {}
        Err(AuthError::Store(StoreError::Conflict(_))) => return Err(ApiError::UsernameTaken),
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
    client: Caller,
    credential: Credential,
    AppJson(body): AppJson<ChangePasswordRequest>,
) -> Result<Response, ApiError> {
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
    let change = PasswordChange {
        user: credential.user_id(),
        address: client.ip,
        current: body.current_password,
        new: body.new_password,
        keep,
    };
    apply_password_change(&state, change).await?;
    Ok((StatusCode::NO_CONTENT, NO_STORE).into_response())
}
