//! `/admin/v1/users…`: list, create, read, disable or enable, delete; a
//! user's sessions; a user's second factors. Whatever a change ends
//! reaches this node's denylist at once and the other nodes' through the
//! store's revocation feed, as "log out everywhere" does.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_auth::audit::kind;
use latchkey_core::UserId;
use latchkey_store::{User, UserQuery};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AdminAuth;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::routes::NO_STORE;
use crate::state::AppState;

/// A user as an operator sees them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminUserView {
    pub id: String,
    pub username: String,
    /// The user's e-mail address, when one is recorded.
    pub email: Option<String>,
    pub disabled: bool,
    pub created_at: String,
    /// The second factors the user has: `totp`, `recovery_code`, `webauthn`.
    pub mfa: Vec<&'static str>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserPage {
    pub users: Vec<AdminUserView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only usernames containing this (case-insensitive).
    q: Option<String>,
    /// Users per page: 1–200 (50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    pub username: String,
    /// Without one, the account has no password way in.
    pub password: Option<String>,
    /// Recorded unverified, and mailed a verification link (needs
    /// `[email]`: otherwise `501 email_not_configured`).
    pub email: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateUser {
    /// `true` ends every session, refresh family and access token of the
    /// user at once; their sign-ins then fail like a wrong password.
    pub disabled: bool,
}

async fn view(state: &AppState, user: User) -> Result<AdminUserView, ApiError> {
    let mut mfa: Vec<&'static str> = Vec::new();
    for m in state.auth.second_factors_of(user.id).await? {
        if !mfa.contains(&m.name()) {
            mfa.push(m.name());
        }
    }
    Ok(AdminUserView {
        id: user.id.to_string(),
        username: user.username.to_string(),
        email: state.store.address_of(user.id).await?.map(|a| a.email),
        disabled: user.disabled_at.is_some(),
        created_at: user.created_at.to_rfc3339(),
        mfa,
    })
}

/// The user a path names (an id that is malformed or unknown: 404).
pub(super) async fn target(
    state: &AppState,
    id: Result<Path<String>, PathRejection>,
) -> Result<User, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::UserNotFound)?;
    let id = UserId::parse(&id).map_err(|_| ApiError::UserNotFound)?;
    target_by_id(state, id).await
}

/// A user deleted meanwhile is not found; anything else is what it is.
pub(super) fn gone(e: latchkey_auth::AuthError) -> ApiError {
    match e {
        latchkey_auth::AuthError::UnknownUser => ApiError::UserNotFound,
        e => e.into(),
    }
}

fn bad_query(detail: &str) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_request",
        detail: detail.to_owned(),
    }
}

/// List users by username, page by page.
#[utoipa::path(get, path = "/admin/v1/users", tag = "admin", operation_id = "admin_users_list",
    params(ListQuery),
    responses(
        (status = 200, body = UserPage),
        (status = 400, body = Problem, description = "invalid_request: a bad limit or cursor"),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs users:read"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    admin: AdminAuth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    admin.require("users:read")?;
    let Query(query) = query.map_err(|_| bad_query("Unreadable query parameters."))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(bad_query("`limit` is 1 to 200."));
    }
    let after = match &query.cursor {
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| bad_query("`cursor` is not one this server gave."))?,
        ),
        None => None,
    };
    let mut found = state
        .store
        .list_users(UserQuery {
            search: query.q.as_deref().filter(|q| !q.is_empty()),
            after: after.as_deref(),
            limit: limit + 1,
        })
        .await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let next_cursor = more
        .then(|| {
            found
                .last()
                .map(|u| URL_SAFE_NO_PAD.encode(u.username.as_str()))
        })
        .flatten();
    let mut users = Vec::with_capacity(found.len());
    for u in found {
        users.push(view(&state, u).await?);
    }
    Ok((NO_STORE, AppJson(UserPage { users, next_cursor })).into_response())
}

/// Create a user (registration need not be open).
#[utoipa::path(post, path = "/admin/v1/users", tag = "admin", operation_id = "admin_users_create",
    request_body = CreateUser,
    responses(
        (status = 201, body = AdminUserView),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs users:write"),
        (status = 409, body = Problem, description = "username_taken, email_taken"),
        (status = 501, body = Problem, description = "email_not_configured: an e-mail address without [email]"),
        (status = 422, body = Problem, description = "invalid_username, invalid_password"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    admin: AdminAuth,
    AppJson(body): AppJson<CreateUser>,
) -> Result<Response, ApiError> {
    admin.require("users:write")?;
    let user = state
        .auth
        .create_account(&body.username, body.password, body.email.as_deref())
        .await?;
    tracing::info!(user_id = %user.id, admin_key = %admin.key.id, "user created by an operator");
    admin
        .record(&state, kind::USER_CREATED, Some(user.id), json!({}))
        .await;
    let view = view(&state, user).await?;
    Ok((StatusCode::CREATED, NO_STORE, AppJson(view)).into_response())
}

/// One user.
#[utoipa::path(get, path = "/admin/v1/users/{id}", tag = "admin", operation_id = "admin_users_read",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, body = AdminUserView),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs users:read"),
        (status = 404, body = Problem, description = "user_not_found"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn read(
    State(state): State<AppState>,
    admin: AdminAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    admin.require("users:read")?;
    let user = target(&state, id).await?;
    Ok((NO_STORE, AppJson(view(&state, user).await?)).into_response())
}

/// Disable or enable a user.
#[utoipa::path(patch, path = "/admin/v1/users/{id}", tag = "admin", operation_id = "admin_users_update",
    params(("id" = String, Path, description = "The user's id")),
    request_body = UpdateUser,
    responses(
        (status = 200, body = AdminUserView),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs users:write"),
        (status = 404, body = Problem, description = "user_not_found"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    admin: AdminAuth,
    id: Result<Path<String>, PathRejection>,
    AppJson(body): AppJson<UpdateUser>,
) -> Result<Response, ApiError> {
    admin.require("users:write")?;
    let user = target(&state, id).await?;
    let ended = state
        .auth
        .set_disabled(user.id, body.disabled)
        .await
        .map_err(gone)?;
    state.ended(&ended);
    let detail = json!({ "disabled": body.disabled });
    admin
        .record(&state, kind::USER_UPDATED, Some(user.id), detail)
        .await;
    let user = target_by_id(&state, user.id).await?;
    Ok((NO_STORE, AppJson(view(&state, user).await?)).into_response())
}

async fn target_by_id(state: &AppState, id: UserId) -> Result<User, ApiError> {
    state
        .store
        .user_by_id(id)
        .await?
        .ok_or(ApiError::UserNotFound)
}

/// Delete a user with everything they hold.
#[utoipa::path(delete, path = "/admin/v1/users/{id}", tag = "admin", operation_id = "admin_users_delete",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted; every session and token of the user ended"),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs users:write"),
        (status = 404, body = Problem, description = "user_not_found"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    admin: AdminAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    admin.require("users:write")?;
    let user = target(&state, id).await?;
    let detail = admin.detail(json!({ "username": user.username.as_str() }));
    let ended = state
        .auth
        .delete_account(user.id, detail)
        .await
        .map_err(gone)?;
    state.ended(&ended);
    Ok(StatusCode::NO_CONTENT.into_response())
}
