//! Authenticating a request by its session cookie, with CSRF enforced in
//! the same step.
//!
//! **Invariant:** a handler that takes [`SessionAuth`] cannot run for an
//! unsafe method (anything but GET, HEAD, OPTIONS; `TRACE` is unsafe, and
//! refused on every route anyway) unless the request
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
        let auth = load_session(&parts.headers, state).await?;
        if is_unsafe(&parts.method) {
            require_csrf(&parts.headers, state, auth.auth.session.handle.as_str())?;
        }
        auth.touch(state).await
    }
}

/// The live session named by the request's cookie, *without* the CSRF
/// check: callers must check the token themselves before acting (the
/// `SessionAuth` extractor does, from the header; the UI's form extractor
/// does, from the form).
pub(crate) async fn load_session(
    headers: &HeaderMap,
    state: &AppState,
) -> Result<Loaded, ApiError> {
    let name = cookies::session_cookie_name(&state.settings);
    let Some(raw) = cookies::read(headers, name)? else {
        return Err(ApiError::Unauthenticated { clear: None });
    };
    let stale = || ApiError::Unauthenticated {
        clear: Some(cookies::clear(&state.settings, name, "/")),
    };
    let secret = SessionSecret::parse(&raw).map_err(|_| stale())?;
    let secret_hash = secret.hash();
    let now = state.clock.now();
    // Memory first (only trusted while revocations are current), then the
    // store. A cached session that looks expired is re-read: another node
    // may have extended it.
    if let Some((session, username)) = state.cached_session(secret_hash.as_bytes())
        && let SessionStatus::Valid { touch } = state.settings.sessions.status(&session, now)
    {
        return Ok(Loaded {
            auth: SessionAuth {
                session,
                username,
                secret_hash,
            },
            touch,
        });
    }
    state.forget_session(secret_hash.as_bytes());
    let Some((session, username)) = state.store.session_by_secret(&secret_hash).await? else {
        return Err(stale());
    };
    match state.settings.sessions.status(&session, now) {
        SessionStatus::Expired => {
            // The sweeper would remove it too; removing it now keeps
            // listings and counts exact.
            let ended = state
                .store
                .delete_session_by_secret(&secret_hash, state.revoke_at())
                .await?;
            state.ended(&ended);
            Err(stale())
        }
        SessionStatus::Valid { touch } => {
            state.cache_session(*secret_hash.as_bytes(), &session, &username);
            Ok(Loaded {
                auth: SessionAuth {
                    session,
                    username,
                    secret_hash,
                },
                touch,
            })
        }
    }
}

/// A session found valid, with the last-seen write it is due.
pub(crate) struct Loaded {
    pub auth: SessionAuth,
    touch: Option<latchkey_core::Timestamp>,
}

impl Loaded {
    /// Records activity (at most once a minute) and hands over the session.
    pub(crate) async fn touch(self, state: &AppState) -> Result<SessionAuth, ApiError> {
        let mut auth = self.auth;
        if let Some(idle_expires_at) = self.touch {
            let now = state.clock.now();
            state
                .store
                .touch_session(&auth.secret_hash, now, idle_expires_at)
                .await?;
            auth.session.last_seen_at = now;
            auth.session.idle_expires_at = idle_expires_at;
            state.cache_session(*auth.secret_hash.as_bytes(), &auth.session, &auth.username);
        }
        Ok(auth)
    }
}

/// Anything but `GET`, `HEAD` and `OPTIONS` (`TRACE` included).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
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

/// Proof that a login request is not cross-site (see
/// [`refuse_cross_site`]): every login endpoint takes it as an argument,
/// so none can forget the check, and it runs before the body is read.
#[derive(Debug, Clone, Copy)]
pub struct SameSiteLogin;

impl FromRequestParts<AppState> for SameSiteLogin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_cross_site(&parts.headers, state)?;
        Ok(Self)
    }
}

/// Refuses a request that a browser marks as cross-site: `Sec-Fetch-Site`
/// other than `same-origin`/`none`, or (when the browser sends no
/// `Sec-Fetch-Site`) an `Origin` that is neither the configured public
/// origin nor the request's own host. An `Origin` on the
/// CORS allow-list is accepted whatever `Sec-Fetch-Site` says (an SPA on a
/// sibling origin is `same-site`).
pub fn refuse_cross_site(headers: &HeaderMap, state: &AppState) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if origin.is_some_and(|o| state.settings.cors_allowed_origins.iter().any(|a| a == o)) {
        return Ok(());
    }
    // A browser's own word, which no page can forge. It settles the
    // question: with `Referrer-Policy: no-referrer`, Chromium sends
    // `Origin: null` even on a same-origin form post.
    if let Some(site) = headers.get("sec-fetch-site") {
        match site.to_str().map_err(|_| ApiError::CsrfFailed)? {
            "same-origin" => return Ok(()),
            "none" => {}
            _ => return Err(ApiError::CsrfFailed),
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
