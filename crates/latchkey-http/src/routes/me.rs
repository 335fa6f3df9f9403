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
    /// How the credential's holder signed in (RFC 8176 values: `pwd`,
    /// `otp`, `hwk`, `swk`, `mfa`, …): the session's, or the token's claim.
    #[schema(example = json!(["pwd"]))]
    pub amr: Vec<String>,
    /// When the credential's holder last authenticated (Unix seconds).
    pub auth_time: i64,
    #[serde(flatten)]
    pub address: super::email::AddressView,
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
    let assurance = credential.assurance();
    let address = super::email::AddressView::of(&state, credential.user_id()).await?;
    Ok((
        NO_STORE,
        AppJson(MeResponse {
            user: UserView::new(credential.user_id(), &username),
            auth: credential.kind(),
            amr: assurance.amr,
            auth_time: assurance.auth_time.unix_seconds(),
            address,
        }),
    ))
}
