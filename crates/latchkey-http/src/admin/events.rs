//! `GET /admin/v1/events`: the audit trail, oldest first from a cursor.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use latchkey_core::UserId;
use latchkey_store::{AuditEvent, EventQuery};
use serde::{Deserialize, Serialize};

use super::AdminAuth;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::routes::NO_STORE;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only this user's events (a user id).
    user: Option<String>,
    /// Only events of this type (`login.failed`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    /// Only events after this one (`next_cursor`, or an event's `id`).
    after: Option<i64>,
    /// Events per page: 1–500 (100).
    limit: Option<u32>,
}

/// One security event.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: String,
    pub user_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// What happened, in a few fields; never a secret.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEvent> for EventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at.to_rfc3339(),
            user_id: e.user_id.map(|u| u.to_string()),
            detail: serde_json::from_str(&e.detail).unwrap_or_default(),
            kind: e.kind,
            ip: e.ip,
            user_agent: e.user_agent,
            request_id: e.request_id,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    /// Pass as `after` for the next page (also to follow new events);
    /// absent when there are none.
    pub next_cursor: Option<i64>,
}

/// The audit trail.
#[utoipa::path(get, path = "/admin/v1/events", tag = "admin", operation_id = "admin_events",
    params(EventsQuery),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = Problem, description = "invalid_request: a bad user, limit or cursor"),
        (status = 401, body = Problem, description = "invalid_admin_key"),
        (status = 403, body = Problem, description = "insufficient_scope: needs events:read"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("admin_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    admin: AdminAuth,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    admin.require("events:read")?;
    let bad = |detail: &str| ApiError::BadRequest {
        code: "invalid_request",
        detail: detail.to_owned(),
    };
    let Query(query) = query.map_err(|_| bad("Unreadable query parameters."))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(bad("`limit` is 1 to 500."));
    }
    let user = match query.user.as_deref() {
        Some(id) => Some(UserId::parse(id).map_err(|_| bad("`user` is not a user id."))?),
        None => None,
    };
    let events = state
        .store
        .events(EventQuery {
            user,
            kind: query.kind.as_deref(),
            after: query.after,
            newest_first: false,
            limit,
        })
        .await?;
    let next_cursor = events.last().map(|e| e.id);
    let events = events.into_iter().map(EventView::from).collect();
    Ok((
        NO_STORE,
        AppJson(EventPage {
            events,
            next_cursor,
        }),
    )
        .into_response())
}
