//! The HTTP side of logging in: the use cases live in `latchkey_auth`;
//! these adapters count outcomes in `/metrics` and turn a principal into
//! the credential a handler answers with (`issue_*`).

use axum::http::{HeaderMap, HeaderValue};
use latchkey_auth::{
    AuthError, Authentication, BearerPair, Device, EndSessions, Flavour, PasswordChange, Principal,
    Refreshed, SecondStep,
};
use latchkey_core::refresh::RefreshSecret;
use latchkey_core::{Session, SessionSecret};
use latchkey_store::Ended;
use serde::Serialize;

use crate::caller::Caller;
use crate::cookies;
use crate::error::ApiError;
use crate::state::AppState;

/// The password step of every login (see
/// [`latchkey_auth::AuthService::authenticate`]). For an account with an
/// active second factor, the login is stored as pending (ending as
/// `flavour`, bound to this client) and the answer is `mfa_required`.
pub async fn sign_in(
    state: &AppState,
    client: &Caller,
    username: &str,
    password: String,
    flavour: Flavour,
    remember: bool,
) -> Result<Principal, ApiError> {
    let outcome = state.auth.authenticate(client.ip, username, password).await;
    let success = match &outcome {
        Ok(Authentication::Challenge(_)) => "mfa_required",
        _ => "success",
    };
    count(state, &outcome, success);
    match outcome? {
        Authentication::Principal(p) => Ok(p),
        Authentication::Challenge(mut challenge) => {
            let mfa_token = state
                .auth
                .start_pending_login(&mut challenge, flavour, remember, &device(client))
                .await?;
            Err(ApiError::MfaRequired {
                mfa_token,
                methods: challenge.accepts.iter().map(|m| m.name()).collect(),
            })
        }
    }
}

/// The client as a session records it and a pending login is bound to.
pub fn device(client: &Caller) -> Device {
    Device {
        user_agent: client.user_agent.clone(),
        ip: client.ip.map(|ip| ip.to_string()),
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
        other => count(state, other, "success"),
    }
    state.ended(&outcome?);
    Ok(())
}

/// Counts a password step; `success` names a right password's outcome.
fn count<T>(state: &AppState, outcome: &Result<T, AuthError>, success: &'static str) {
    match outcome {
        Ok(_) => state.metrics.login(success),
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
    let issued = state
        .auth
        .issue_session(principal, replacing, remember, device(client))
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

/// The label `otpauth://` URIs carry: the issuer's host.
pub fn issuer_label(state: &AppState) -> String {
    let issuer = &state.settings.tokens.issuer;
    let rest = issuer.split_once("://").map_or(issuer.as_str(), |(_, r)| r);
    let host = rest.split('/').next().unwrap_or(rest);
    host.split(':').next().unwrap_or(host).to_owned()
}

/// The second step of a login (see
/// [`latchkey_auth::AuthService::verify_second_factor`]), counted in
/// `latchkey_mfa_total`.
pub async fn second_step(
    state: &AppState,
    client: &Caller,
    mfa_token: &str,
    code: &str,
) -> Result<SecondStep, AuthError> {
    let outcome = state
        .auth
        .verify_second_factor(mfa_token, code, &device(client))
        .await;
    let method = match &outcome {
        Ok(step) => step.principal.amr.last().map_or("none", |m| m.name()),
        Err(_) => method_of(code),
    };
    state.metrics.mfa(method, mfa_outcome(&outcome, "success"));
    outcome
}

/// Which method a code looks like (for metrics of failures).
pub fn method_of(code: &str) -> &'static str {
    if latchkey_auth::recovery::hash(code).is_some() {
        "recovery_code"
    } else {
        "totp"
    }
}

/// The `outcome` label of a second-factor event.
pub fn mfa_outcome<T>(outcome: &Result<T, AuthError>, success: &'static str) -> &'static str {
    match outcome {
        Ok(_) => success,
        Err(AuthError::InvalidCode) => "invalid_code",
        Err(AuthError::InvalidMfaToken) => "invalid_mfa_token",
        Err(AuthError::RateLimited { .. }) => "rate_limited",
        Err(_) => "error",
    }
}
