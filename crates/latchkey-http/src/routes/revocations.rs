//! `GET /v1/revocations?after=SEQ&wait=SECONDS`: the revocation feed for
//! resource servers that verify tokens locally (latchkey-verify), so a
//! revocation reaches them in milliseconds while verification stays
//! local. Authenticated like introspection (an `[[introspection.clients]]`
//! credential, HTTP Basic), limited like it (`rate_limits.token_introspect`).
//!
//! Entries come from the store's revocation log (every node's and the
//! CLI's revocations, unexpired) after the cursor `after`; `next` is the
//! cursor to ask with next time. With nothing new and `wait` above zero
//! the request is held until a revocation reaches this node's denylist or
//! `wait` seconds (at most 25) pass: a long poll. With
//! `Accept: text/event-stream` the same answers are streamed as
//! Server-Sent Events instead (`revocations_sse.rs`).

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use latchkey_core::revocation::{Revocation, Target};
use serde::{Deserialize, Serialize};

use super::NO_STORE;
use super::token_endpoints::authenticate_client;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::state::AppState;

/// The longest a long poll is held.
pub const MAX_WAIT: Duration = Duration::from_secs(25);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The cursor from the previous answer's `next` (0 or absent: from the start).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Seconds to wait when nothing is new (0 to 25; default 0).
    #[param(minimum = 0, maximum = 25)]
    wait: Option<u64>,
}

/// One denylist entry.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedEntry {
    /// The cursor that covers this entry (the answer's `next`).
    pub seq: i64,
    /// `jti` (one token), `sid` (every token of a session or refresh
    /// family) or `user` (every token of the user issued before `at`).
    pub kind: &'static str,
    pub value: String,
    /// When it was revoked (Unix seconds); for `user`, tokens with an
    /// earlier `iat` are revoked.
    pub at: i64,
    /// After this (Unix seconds) every token it covers has expired.
    pub expires_at: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Feed {
    pub entries: Vec<FeedEntry>,
    /// Ask with `after=next` next time.
    pub next: i64,
}

/// The revocation feed (long poll).
#[utoipa::path(get, path = "/v1/revocations", tag = "tokens",
    params(FeedQuery),
    responses(
        (status = 200, body = Feed, description = "The entries after `after`; with `Accept: text/event-stream`, a stream of `revocations` events whose data is this object, one per batch"),
        (status = 400, body = Problem, description = "invalid_request: a negative cursor or a malformed query"),
        (status = 401, body = Problem, description = "invalid_client"),
        (status = 429, body = Problem, description = "rate_limited"),
    ),
    security(("basic" = [])))]
pub async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    authenticate_client(&state, &headers)?;
    let bad = || ApiError::BadRequest {
        code: "invalid_request",
        detail: "after must be a cursor (0 or more) and wait 0 to 25 seconds.".into(),
    };
    let Query(q) = query.map_err(|_| bad())?;
    let after = q.after.unwrap_or(0);
    let wait = Duration::from_secs(q.wait.unwrap_or(0));
    if after < 0 || wait > MAX_WAIT {
        return Err(bad());
    }
    if wants_stream(&headers) {
        return Ok(super::revocations_sse::stream(state, after));
    }
    // Registered before the read, so a revocation between the read and
    // the wait still wakes it.
    let changed = state.revocations_changed.notified();
    tokio::pin!(changed);
    changed.as_mut().enable();
    let (mut entries, mut next) = state
        .store()
        .revocations_since(after, state.clock.now())
        .await?;
    if entries.is_empty() && !wait.is_zero() {
        let _ = tokio::time::timeout(wait, changed).await;
        (entries, next) = state
            .store()
            .revocations_since(after, state.clock.now())
            .await?;
    }
    let entries = entries.iter().map(|r| entry(r, next)).collect();
    Ok((NO_STORE, AppJson(Feed { entries, next })).into_response())
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"))
}

/// One entry of the feed's JSON.
pub(super) fn entry(r: &Revocation, seq: i64) -> FeedEntry {
    let (kind, value) = match &r.target {
        Target::Jti(v) => ("jti", v.clone()),
        Target::Sid(v) => ("sid", v.clone()),
        Target::User(v) => ("user", v.clone()),
    };
    FeedEntry {
        seq,
        kind,
        value,
        at: r.at.unix_seconds(),
        expires_at: r.expires_at.unix_seconds(),
    }
}
