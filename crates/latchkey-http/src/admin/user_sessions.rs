//! `/admin/v1/users/{id}/sessions` and `…/mfa`: a user's live logins,
//! ending them all, and removing the user's second factors.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_auth::EndSessions;
use latchkey_auth::audit::kind;
use serde::Serialize;
use serde_json::json;

use super::AdminAuth;
use super::users::target;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::login::end_sessions as end;
use crate::routes::NO_STORE;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminSession {
    /// A session's handle or a bearer or hybrid login's family id.
    pub id: String,
    /// `session`, `tokens` (bearer) or `cookie_jwt` (hybrid).
    pub kind: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// RFC 8176 values of how the session's holder signed in.
    pub amr: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminSessionList {
    pub sessions: Vec<AdminSession>,
}

/// A user's live logins: cookie sessions, bearer and hybrid logins.
#[utoipa::path(get, path = "/admin/v1/users/{id}/sessions", tag = "admin",
    operation_id = "admin_users_sessions",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, body = AdminSessionList),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs users:read"),
        (status = 404, body = Problem, description = "user_not_found"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn sessions(
    State(state): State<AppState>,
    admin: AdminAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    admin.require("users:read")?;
    let user = target(&state, id).await?;
    let sessions = state
        .auth
        .live_logins(Some(user.id))
        .await?
        .into_iter()
        .map(|s| AdminSession {
            id: s.id,
            kind: s.kind,
            created_at: s.created_at.to_rfc3339(),
            last_seen_at: s.last_used_at.to_rfc3339(),
            user_agent: s.user_agent,
            ip: s.ip,
            amr: s.amr,
        })
        .collect();
    Ok((NO_STORE, AppJson(AdminSessionList { sessions })).into_response())
}

/// End every session, refresh family and access token of a user.
#[utoipa::path(delete, path = "/admin/v1/users/{id}/sessions", tag = "admin",
    operation_id = "admin_users_end_sessions",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs sessions:write"),
        (status = 404, body = Problem, description = "user_not_found"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn end_sessions(
    State(state): State<AppState>,
    admin: AdminAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    admin.require("sessions:write")?;
    let user = target(&state, id).await?;
    end(&state, EndSessions::Everywhere(user.id)).await?;
    tracing::info!(user_id = %user.id, admin_key = %admin.key.id, "sessions ended by an operator");
    admin
        .record(
            &state,
            kind::SESSIONS_ENDED_BY_ADMIN,
            Some(user.id),
            json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Remove every second factor and passkey of a user (and end their
/// sessions and tokens): the password alone is then their way in.
#[utoipa::path(delete, path = "/admin/v1/users/{id}/mfa", tag = "admin",
    operation_id = "admin_users_reset_mfa",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs users:write"),
        (status = 404, body = Problem, description = "user_not_found"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn reset_mfa(
    State(state): State<AppState>,
    admin: AdminAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    admin.require("users:write")?;
    let user = target(&state, id).await?;
    let ended = state.auth.reset_mfa(user.id).await?;
    state.ended(&ended);
    admin
        .record(&state, kind::MFA_RESET_BY_ADMIN, Some(user.id), json!({}))
        .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
