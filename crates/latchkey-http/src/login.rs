//! The HTTP side of logging in: the use cases live in `latchkey_auth`;
//! these adapters count outcomes in `/metrics` and turn a principal into
//! the credential a handler answers with (`issue_*`).

use axum::http::{HeaderMap, HeaderValue};
use latchkey_auth::{
    AuthError, Authentication, BearerPair, Device, EndSessions, Method, PasswordChange, Principal,
    Reauthenticate, Refreshed,
};
use latchkey_core::refresh::RefreshSecret;
use latchkey_core::{Assurance, Session, SessionSecret};
use latchkey_store::Ended;
use serde::Serialize;

use crate::caller::Caller;
use crate::cookies;
use crate::error::ApiError;
use crate::state::AppState;

/// The password step of every login (see
/// [`latchkey_auth::AuthService::authenticate`]).
pub async fn sign_in(
    state: &AppState,
    client: &Caller,
    username: &str,
    password: String,
) -> Result<Principal, ApiError> {
    let outcome = state.auth.authenticate(client.ip, username, password).await;
    count(state, &outcome);
    match outcome? {
        Authentication::Principal(p) => Ok(p),
        // No account can require another step yet.
        Authentication::Challenge(_) => Err(ApiError::Internal(
            "a login challenge without a flow to answer it".into(),
        )),
    }
}

/// Ends `which` (see [`latchkey_auth::AuthService::end_sessions`]) and
/// applies what ended to this node's denylist at once.
pub async fn end_sessions(state: &AppState, which: EndSessions<'_>) -> Result<Ended, ApiError> {
    let ended = state.auth.end_sessions(which).await?;
    state.ended(&ended);
    Ok(ended)
}

/// The password change (see
/// [`latchkey_auth::AuthService::change_password`]); what it ended
/// reaches this node's denylist at once.
pub async fn apply_password_change(
    state: &AppState,
    change: PasswordChange<'_>,
) -> Result<(), AuthError> {
    let outcome = state.auth.change_password(change).await;
    match &outcome {
        // The current password was right; only the new one was refused.
        Err(AuthError::Invalid { .. }) => state.metrics.login("success"),
        other => count(state, other),
    }
    state.ended(&outcome?);
    Ok(())
}

/// Step-up (see [`latchkey_auth::AuthService::reauthenticated`]): raises
/// the credential's `amr` and `auth_time` in the store and drops a session
/// from this node's cache at once, so its next request reads the raised
/// values (another node's cache holds the old, lower ones for at most its
/// 10 s).
pub async fn reauthenticated(
    state: &AppState,
    credential: Reauthenticate<'_>,
    methods: &[Method],
    multi_factor: bool,
) -> Result<Option<Assurance>, ApiError> {
    let raised = state
        .auth
        .reauthenticated(credential, methods, multi_factor)
        .await;
    if let Reauthenticate::Session(secret) = credential {
        state.forget_session(secret.as_bytes());
    }
    Ok(raised?)
}

fn count<T>(state: &AppState, outcome: &Result<T, AuthError>) {
    match outcome {
        Ok(_) => state.metrics.login("success"),
        Err(AuthError::RateLimited { .. }) => state.metrics.login("rate_limited"),
        Err(AuthError::InvalidCredentials) => state.metrics.login("invalid_credentials"),
        Err(_) => {}
    }
}

/// A new session for `principal` (ending the browser's previous one, if
/// it sent one) and its cookie.
pub async fn issue_session(
    state: &AppState,
    client: &Caller,
    headers: &HeaderMap,
    principal: &Principal,
    remember: bool,
) -> Result<(HeaderValue, Session), ApiError> {
    let name = cookies::session_cookie_name(&state.settings);
    let replacing = cookies::read(headers, name)?
        .and_then(|v| SessionSecret::parse(&v).ok())
        .map(|s| s.hash());
    let device = Device {
        user_agent: client.user_agent.clone(),
        ip: client.ip.map(|ip| ip.to_string()),
    };
    let issued = state
        .auth
        .issue_session(principal, replacing, remember, device)
        .await?;
    if let Some(ended) = &issued.replaced {
        state.ended(ended);
    }
    let max_age = state
        .settings
        .sessions
        .cookie_max_age(&issued.session, state.clock.now());
    let cookie = cookies::set(&state.settings, name, issued.secret.encode(), "/", max_age);
    Ok((cookie, issued.session))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// JWT, header `{"alg","kid","typ":"at+jwt"}`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque; rotates on every use.
    pub refresh_token: String,
}

impl TokenPair {
    pub fn new(state: &AppState, pair: &BearerPair) -> Self {
        let now = state.clock.now().unix_seconds();
        Self {
            access_token: pair.access_token.clone(),
            token_type: "Bearer",
            expires_in: pair.expires_at.saturating_sub(now).max(0),
            refresh_token: pair.refresh.encode(),
        }
    }
}

/// Rotates `presented` and returns the new pair; a reused token's family
/// revocations reach this node's denylist at once.
pub async fn rotate(state: &AppState, presented: &RefreshSecret) -> Result<TokenPair, ApiError> {
    match state.auth.refresh(presented).await? {
        Refreshed::Issued(pair) => Ok(TokenPair::new(state, &pair)),
        Refreshed::Reused(revocations) => {
            state.deny(&revocations);
            Err(ApiError::InvalidGrant)
        }
    }
}
