//! Authenticating a request by its session cookie, with CSRF enforced in
//! the same step.
//!
//! **Invariant:** a handler that takes [`SessionAuth`] cannot run for an
//! unsafe method (anything but GET, HEAD, OPTIONS) unless the request
//! carries the `X-CSRF-Token` bound to that session and does not come from
//! another site. The check lives in the extractor so that no route can
//! forget it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use latchkey_core::{Session, SessionSecret, SessionSecretHash, SessionStatus, Username};

use crate::cookies;
use crate::error::ApiError;
use crate::state::AppState;

pub const CSRF_HEADER: &str = "x-csrf-token";

/// A request authenticated by a live session cookie (CSRF-checked when the
/// method is unsafe).
#[derive(Debug)]
pub struct SessionAuth {
    pub session: Session,
    pub username: Username,
    pub secret_hash: SessionSecretHash,
}

impl FromRequestParts<AppState> for SessionAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let name = cookies::session_cookie_name(&state.settings);
        let Some(raw) = cookies::read(&parts.headers, name) else {
            return Err(ApiError::Unauthenticated { clear: None });
        };
        let stale = || ApiError::Unauthenticated {
            clear: Some(cookies::clear(&state.settings, name, "/")),
        };
        let secret = SessionSecret::parse(&raw).map_err(|_| stale())?;
        let secret_hash = secret.hash();
        let Some((mut session, username)) = state.store.session_by_secret(&secret_hash).await?
        else {
            return Err(stale());
        };
        let now = state.clock.now();
        let touch = match state.settings.sessions.status(&session, now) {
            SessionStatus::Expired => {
                // The sweeper would remove it too; removing it now keeps
                // listings and counts exact.
                let ended = state
                    .store
                    .delete_session_by_secret(&secret_hash, state.revoke_at())
                    .await?;
                state.ended(&ended);
                return Err(stale());
            }
            SessionStatus::Valid { touch } => touch,
        };
        if is_unsafe(&parts.method) {
            require_csrf(&parts.headers, state, session.handle.as_str())?;
        }
        if let Some(idle_expires_at) = touch {
            state
                .store
                .touch_session(&secret_hash, now, idle_expires_at)
                .await?;
            session.last_seen_at = now;
            session.idle_expires_at = idle_expires_at;
        }
        Ok(Self {
            session,
            username,
            secret_hash,
        })
    }
}

pub fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The anti-forgery rule for a request authenticated by a cookie: it must
/// come from our own site and carry the token bound to `binding`.
pub fn require_csrf(headers: &HeaderMap, state: &AppState, binding: &str) -> Result<(), ApiError> {
    refuse_cross_site(headers, state)?;
    let token = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::CsrfFailed)?;
    if state.csrf.verify(binding, token) {
        Ok(())
    } else {
        Err(ApiError::CsrfFailed)
    }
}

/// Refuses a request that a browser marks as cross-site: `Sec-Fetch-Site`
/// other than `same-origin`/`none`, or an `Origin` that is neither the
/// configured public origin nor the request's own host. An `Origin` on the
/// CORS allow-list is accepted whatever `Sec-Fetch-Site` says (an SPA on a
/// sibling origin is `same-site`).
pub fn refuse_cross_site(headers: &HeaderMap, state: &AppState) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if origin.is_some_and(|o| state.settings.cors_allowed_origins.iter().any(|a| a == o)) {
        return Ok(());
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().map_err(|_| ApiError::CsrfFailed)?;
        if !matches!(site, "same-origin" | "none") {
            return Err(ApiError::CsrfFailed);
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| ApiError::CsrfFailed)?;
    if state.settings.public_origin.as_deref() == Some(origin) {
        return Ok(());
    }
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .ok_or(ApiError::CsrfFailed)?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or(ApiError::CsrfFailed)?;
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ApiError::CsrfFailed)
    }
}
