//! Cookie sessions: `/v1/session/*` and `/v1/sessions`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use latchkey_auth::{EndSessions, Flavour};
use serde::{Deserialize, Serialize};

use super::{NO_STORE, UserView};
use crate::auth::{SameSiteLogin, SessionAuth};
use crate::caller::Caller;
use crate::cookies;
use crate::error::{ApiError, Problem};
use crate::finish::{self, LoginResponse};
use crate::json::AppJson;
use crate::login::{end_sessions, sign_in};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// Keep the cookie after the browser closes (`Max-Age`).
    #[serde(default)]
    pub remember: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// Public handle of the session (not the cookie value).
    pub id: String,
    pub created_at: String,
    /// When the session ends if unused (never later than its absolute limit).
    pub expires_at: String,
    pub last_seen_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CurrentSessionResponse {
    pub user: UserView,
    pub session: SessionView,
    /// How this session's holder signed in (RFC 8176 values: `pwd`, `otp`,
    /// `hwk`, `swk`, `mfa`, …); raised by step-up.
    #[schema(example = json!(["pwd", "otp", "mfa"]))]
    pub amr: Vec<String>,
    /// When this session's holder last authenticated (Unix seconds).
    pub auth_time: i64,
    #[serde(flatten)]
    pub address: super::email::AddressView,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionListItem {
    /// A session's handle, or a bearer or hybrid login's family id: what
    /// `DELETE /v1/sessions/{id}` ends.
    pub id: String,
    /// `session` (a cookie session), `tokens` (a bearer login) or
    /// `cookie_jwt` (a hybrid login).
    pub kind: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session making this request.
    pub current: bool,
    /// How the login's holder signed in (RFC 8176).
    pub amr: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionListItem>,
}

/// Log in and start a cookie session.
#[utoipa::path(post, path = "/v1/session/login", tag = "sessions", operation_id = "session_login",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse, description = "Logged in; sets the session cookie"),
        (status = 401, body = Problem, description = "invalid_credentials; mfa_required (with mfa_token and methods)"),
        (status = 403, body = Problem, description = "csrf_failed: cross-site login"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    _: SameSiteLogin,
    client: Caller,
    headers: HeaderMap,
    AppJson(body): AppJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let principal = sign_in(
        &state,
        &client,
        &body.username,
        body.password,
        Flavour::Session,
        body.remember,
    )
    .await?;
    finish::session(&state, &client, &headers, &principal, body.remember).await
}

/// The current session and its user.
#[utoipa::path(get, path = "/v1/session", tag = "sessions",
    responses(
        (status = 200, body = CurrentSessionResponse),
        (status = 401, body = Problem, description = "unauthenticated"),
    ))]
pub async fn current(
    State(state): State<AppState>,
    auth: SessionAuth,
) -> Result<impl IntoResponse, ApiError> {
    let s = &auth.session;
    let address = super::email::AddressView::of(&state, s.user_id).await?;
    Ok((
        NO_STORE,
        AppJson(CurrentSessionResponse {
            user: UserView::new(s.user_id, &auth.username),
            session: SessionView {
                id: s.handle.to_string(),
                created_at: s.created_at.to_rfc3339(),
                expires_at: s.idle_expires_at.min(s.absolute_expires_at).to_rfc3339(),
                last_seen_at: s.last_seen_at.to_rfc3339(),
            },
            amr: s.assurance.amr.clone(),
            auth_time: s.assurance.auth_time.unix_seconds(),
            address,
        }),
    ))
}

/// Log out: the session is deleted and the cookie cleared.
#[utoipa::path(post, path = "/v1/session/logout", tag = "sessions", operation_id = "session_logout",
    params(("X-CSRF-Token" = String, Header, description = "From the login response")),
    responses(
        (status = 204, description = "Logged out; cookie cleared"),
        (status = 401, body = Problem, description = "unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed"),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    auth: SessionAuth,
) -> Result<Response, ApiError> {
    end_sessions(&state, EndSessions::Presented(&auth.secret_hash)).await?;
    Ok(cleared(&state))
}

/// The caller's sessions.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions",
    responses(
        (status = 200, body = SessionList),
        (status = 401, body = Problem, description = "unauthenticated"),
    ))]
pub async fn list(State(state): State<AppState>, auth: SessionAuth) -> Result<Response, ApiError> {
    let sessions = state
        .auth
        .live_logins(Some(auth.session.user_id))
        .await?
        .into_iter()
        .map(|s| SessionListItem {
            current: s.kind == "session" && s.id == auth.session.handle.as_str(),
            id: s.id,
            kind: s.kind,
            created_at: s.created_at.to_rfc3339(),
            last_seen_at: s.last_used_at.to_rfc3339(),
            user_agent: s.user_agent,
            ip: s.ip,
            amr: s.amr,
        })
        .collect();
    Ok((NO_STORE, AppJson(SessionList { sessions })).into_response())
}

/// End one of the caller's sessions.
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "sessions",
    params(
        ("id" = String, Path, description = "A session's or a bearer or hybrid login's id, from the listing"),
        ("X-CSRF-Token" = String, Header, description = "From the login response"),
    ),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, body = Problem, description = "unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 404, body = Problem, description = "No such session of the caller's"),
    ))]
pub async fn end_one(
    State(state): State<AppState>,
    auth: SessionAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    let ended = state
        .auth
        .end_login(Some(auth.session.user_id), &id)
        .await?;
    if ended.is_empty() {
        return Err(ApiError::NotFound);
    }
    state.ended(&ended);
    if ended.sessions.contains(&auth.session.handle) {
        return Ok(cleared(&state));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Log out everywhere: every session of the caller, this one included.
#[utoipa::path(delete, path = "/v1/sessions", tag = "sessions",
    params(("X-CSRF-Token" = String, Header, description = "From the login response")),
    responses(
        (status = 204, description = "All sessions ended; cookie cleared"),
        (status = 401, body = Problem, description = "unauthenticated"),
        (status = 403, body = Problem, description = "csrf_failed"),
    ))]
pub async fn end_all(
    State(state): State<AppState>,
    auth: SessionAuth,
) -> Result<Response, ApiError> {
    end_sessions(&state, EndSessions::Everywhere(auth.session.user_id)).await?;
    Ok(cleared(&state))
}

/// `204` that clears the session cookie.
fn cleared(state: &AppState) -> Response {
    let name = cookies::session_cookie_name(&state.settings);
    (
        StatusCode::NO_CONTENT,
        AppendHeaders([(
            header::SET_COOKIE,
            cookies::clear(&state.settings, name, "/"),
        )]),
        NO_STORE,
    )
        .into_response()
}
