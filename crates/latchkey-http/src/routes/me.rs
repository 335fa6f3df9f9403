//! `GET /v1/me`: who the credential belongs to.

use axum::response::IntoResponse;
use serde::Serialize;

use super::{NO_STORE, UserView};
use crate::auth::SessionAuth;
use crate::error::Problem;
use crate::json::AppJson;

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    pub user: UserView,
    /// Which credential authenticated the request: `session`.
    pub auth: &'static str,
}

/// The authenticated user.
#[utoipa::path(get, path = "/v1/me", tag = "accounts",
    responses(
        (status = 200, body = MeResponse),
        (status = 401, body = Problem, description = "unauthenticated"),
    ))]
pub async fn me(auth: SessionAuth) -> impl IntoResponse {
    (
        NO_STORE,
        AppJson(MeResponse {
            user: UserView::new(auth.session.user_id, &auth.username),
            auth: "session",
        }),
    )
}
