//! The admin API (`/admin/v1/…`): what an operator's back office does.
//! Every route takes an admin key alone (`Authorization: Bearer
//! lk_admin_…`) carrying the route's scope; a user's session, bearer or
//! hybrid credential is never one. The routes are on the public listener
//! unless `admin.listen` gives them a listener of their own, and they are
//! limited per address like every route a stranger can reach.

mod events;
mod user_sessions;
mod users;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use latchkey_auth::audit::kind;
use latchkey_store::AdminKeyRecord;
use serde::Serialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::bearer::bearer_token;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::routes::NO_STORE;
use crate::state::AppState;

/// The admin routes, for the OpenAPI document and the routers.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::read, users::update, users::delete))
        .routes(routes!(
            user_sessions::sessions,
            user_sessions::end_sessions
        ))
        .routes(routes!(user_sessions::reset_mfa))
        .routes(routes!(rotate_keys))
        .routes(routes!(events::list))
}

/// A request made with a live admin key.
pub struct AdminAuth {
    pub key: AdminKeyRecord,
}

impl AdminAuth {
    /// Records what this key did (`admin.*` events name the key's id).
    pub async fn record(
        &self,
        state: &AppState,
        event: &'static str,
        user: Option<latchkey_core::UserId>,
        detail: serde_json::Value,
    ) {
        state.auth.audit(event, user, self.detail(detail)).await;
    }

    /// `detail` naming this key (`admin_key`), as its events carry it.
    pub fn detail(&self, mut detail: serde_json::Value) -> serde_json::Value {
        if let Some(map) = detail.as_object_mut() {
            map.insert("admin_key".into(), self.key.id.clone().into());
        }
        detail
    }

    /// Refuses unless the key carries `scope`.
    pub fn require(&self, scope: &'static str) -> Result<(), ApiError> {
        if self.key.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(scope))
        }
    }
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = bearer_token(parts)
            .map_err(|_| ApiError::InvalidAdminKey)?
            .ok_or(ApiError::InvalidAdminKey)?;
        let key = state.auth.admin_key(presented).await?;
        Ok(Self { key })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RotatedKey {
    /// The new current signing key.
    pub kid: String,
}

/// Make a new current signing key; the old one keeps verifying until its
/// tokens have expired. This node uses it at once, others within 30 s.
#[utoipa::path(post, path = "/admin/v1/keys/rotate", tag = "admin",
    operation_id = "admin_keys_rotate",
    responses(
        (status = 200, body = RotatedKey),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs keys:write"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn rotate_keys(
    State(state): State<AppState>,
    admin: AdminAuth,
) -> Result<Response, ApiError> {
    admin.require("keys:write")?;
    let policy = state
        .settings
        .key_policy
        .as_ref()
        .ok_or_else(|| ApiError::Internal("no key policy configured".into()))?;
    let store = state.store.as_ref();
    let now = state.clock.now();
    let kid = latchkey_auth::keyring::rotate(store, policy, now)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let keys = latchkey_auth::keyring::load(store, policy, now)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.tokens.replace_keys(keys);
    tracing::warn!(%kid, admin_key = %admin.key.id, "signing key rotated through the admin API");
    admin
        .record(&state, kind::KEYS_ROTATED, None, json!({ "kid": kid }))
        .await;
    Ok((NO_STORE, AppJson(RotatedKey { kid })).into_response())
}
