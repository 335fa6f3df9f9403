//! The caller's linked provider identities: list, unlink.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_store::LinkedIdentity;
use serde::Serialize;

use super::NO_STORE;
use crate::bearer::Credential;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub id: String,
    /// The configured provider's name.
    pub provider: String,
    /// The provider's subject (`sub`).
    pub subject: String,
    /// The address the provider gave (shown only; never used to link).
    pub email: Option<String>,
    pub created_at: String,
}

impl From<&LinkedIdentity> for IdentityView {
    fn from(i: &LinkedIdentity) -> Self {
        Self {
            id: i.id.clone(),
            provider: i.provider.clone(),
            subject: i.subject.clone(),
            email: i.email.clone(),
            created_at: i.created_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IdentityList {
    pub identities: Vec<IdentityView>,
}

/// The caller's linked provider identities.
#[utoipa::path(get, path = "/v1/identities", tag = "oidc", operation_id = "identity_list",
    responses(
        (status = 200, body = IdentityList),
        (status = 401, body = Problem, description = "unauthenticated or invalid_token"),
    ),
    security((), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    credential: Credential,
) -> Result<Response, ApiError> {
    let identities = state.auth.identities(credential.user_id()).await?;
    let identities = identities.iter().map(IdentityView::from).collect();
    Ok((NO_STORE, AppJson(IdentityList { identities })).into_response())
}

/// Unlink one of the caller's identities; refused while it is the
/// account's last way in.
#[utoipa::path(delete, path = "/v1/identities/{id}", tag = "oidc", operation_id = "identity_unlink",
    params(
        ("id" = String, Path, description = "Identity id from the listing"),
        ("X-CSRF-Token" = Option<String>, Header, description = "With a cookie credential"),
    ),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, body = Problem, description = "unauthenticated or invalid_token"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 404, body = Problem, description = "No such identity of the caller's"),
        (status = 409, body = Problem, description = "last_way_in"),
    ),
    security((), ("bearer" = [])))]
pub async fn unlink(
    State(state): State<AppState>,
    credential: Credential,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    if state
        .auth
        .unlink_identity(credential.user_id(), &id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}
