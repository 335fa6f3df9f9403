//! `GET /v1/me`: who the credential belongs to.

use axum::response::IntoResponse;
use serde::Serialize;

use axum::extract::State;

use super::{NO_STORE, UserView};
use crate::bearer::Credential;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    pub user: UserView,
    /// Which credential authenticated the request: `session`, `bearer` or `cookie_jwt`.
    pub auth: &'static str,
}

/// The authenticated user, by any credential.
#[utoipa::path(get, path = "/v1/me", tag = "accounts",
    responses(
        (status = 200, body = MeResponse),
        (status = 401, body = Problem, description = "unauthenticated or invalid_token"),
    ),
    security((), ("bearer" = [])))]
pub async fn me(
    State(state): State<AppState>,
    credential: Credential,
) -> Result<impl IntoResponse, ApiError> {
    let username = match &credential {
        Credential::Session(s) => s.username.clone(),
        Credential::Bearer(b) | Credential::CookieJwt(b) => state
            .username(b.user_id)
            .await?
            .ok_or(ApiError::InvalidToken)?,
    };
    Ok((
        NO_STORE,
        AppJson(MeResponse {
            user: UserView::new(credential.user_id(), &username),
            auth: credential.kind(),
        }),
    ))
}
