//! Operations: health, readiness, metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use subtle::ConstantTimeEq as _;

use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Status)))]
pub async fn healthz() -> AppJson<Status> {
    AppJson(Status { status: "ok" })
}

/// The store answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = Status),
        (status = 503, body = Problem, description = "store_unavailable"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<AppJson<Status>, ApiError> {
    state.store.ping().await?;
    Ok(AppJson(Status { status: "ready" }))
}

/// Prometheus text exposition. Absent (`404`) when `metrics.listen`
/// serves it elsewhere; behind a bearer token when `metrics.token` is set.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, content_type = "application/openmetrics-text", body = String),
        (status = 401, body = Problem, description = "unauthenticated: `metrics.token` is set and was not presented"),
        (status = 404, body = Problem, description = "not_found: served on `metrics.listen` instead"),
    ))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.settings.metrics_public {
        return ApiError::NotFound.into_response();
    }
    private_metrics(State(state), headers).await
}

/// `/metrics` on the operators' own listener (the token still applies).
pub async fn private_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = check_token(&state, &headers) {
        return e.into_response();
    }
    state
        .metrics
        .password_hashes_running
        .set(i64::try_from(state.passwords.running()).unwrap_or(i64::MAX));
    state
        .metrics
        .password_hash_memory
        .set(i64::try_from(state.passwords.kept_bytes()).unwrap_or(i64::MAX));
    match state.store.count_active_sessions(state.clock.now()).await {
        Ok(n) => {
            state
                .metrics
                .active_sessions
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::warn!(error = %e, "active session count unavailable"),
    }
    let mut res = state.metrics.encode().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        // prometheus-client writes the OpenMetrics text format.
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    res
}

/// `Authorization: Bearer <metrics.token>`, compared in constant time.
fn check_token(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.settings.metrics_token else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let same: bool = presented.as_bytes().ct_eq(expected.0.as_bytes()).into();
    if same {
        Ok(())
    } else {
        Err(ApiError::Unauthenticated { clear: None })
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn openapi() -> Response {
    axum::Json(crate::openapi()).into_response()
}
