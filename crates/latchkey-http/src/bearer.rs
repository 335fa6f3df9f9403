//! Authenticating a request by `Authorization: Bearer`, and by any of the
//! credentials latchkey issues.
//!
//! A bearer token is read from the `Authorization` header only. A request
//! that carries `access_token` in its query string is refused outright
//! (`400 token_in_query`), whatever else it carries.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use latchkey_core::revocation::Denylist;
use latchkey_core::{Assurance, Timestamp, UserId};
use latchkey_tokens::AccessClaims;

use crate::auth::{SessionAuth, is_unsafe, require_csrf};
use crate::cookies;
use crate::error::ApiError;
use crate::state::AppState;
use latchkey_auth::{BearerError, TokenService};

/// A request authenticated by a valid, unrevoked access token.
#[derive(Debug)]
pub struct BearerAuth {
    pub claims: Arc<AccessClaims>,
    pub user_id: UserId,
}

/// The token in `Authorization: Bearer …`, if the header is present.
/// Malformed or repeated headers are an invalid token, not "no token".
pub(crate) fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::InvalidToken);
    }
    let value = value.to_str().map_err(|_| ApiError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::InvalidToken);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::InvalidToken);
    }
    Ok(Some(token))
}

fn refuse_query_token(parts: &Parts) -> Result<(), ApiError> {
    let in_query = parts.uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next() == Some("access_token"))
    });
    if in_query {
        Err(ApiError::TokenInQuery)
    } else {
        Ok(())
    }
}

/// Verifies `token` now, against this node's keys and denylist, as a
/// first-party credential (`aud` = `tokens.audience`).
pub fn verify_bearer(state: &AppState, token: &str) -> Result<BearerAuth, ApiError> {
    check(state, token, TokenService::verify)
}

/// As [`verify_bearer`], for a token of any audience latchkey issues
/// (introspection only: such a token is never a credential).
pub fn verify_issued(state: &AppState, token: &str) -> Result<BearerAuth, ApiError> {
    check(state, token, TokenService::verify_issued)
}

type Verify =
    fn(&TokenService, &str, Timestamp, &Denylist) -> Result<Arc<AccessClaims>, BearerError>;

fn check(state: &AppState, token: &str, verify: Verify) -> Result<BearerAuth, ApiError> {
    if !state.denylist_is_current() {
        // Fail closed: this node cannot rule out a revocation it missed.
        return Err(ApiError::RevocationStateUnknown);
    }
    let now = state.clock.now();
    let claims = verify(&state.tokens, token, now, &state.denylist()).map_err(|e| {
        tracing::debug!(reason = %e, "bearer token refused");
        ApiError::InvalidToken
    })?;
    let user_id = UserId::parse(&claims.sub).map_err(|_| ApiError::InvalidToken)?;
    Ok(BearerAuth { claims, user_id })
}

impl FromRequestParts<AppState> for BearerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_query_token(parts)?;
        let token = bearer_token(parts)?.ok_or(ApiError::Unauthenticated { clear: None })?;
        verify_bearer(state, token)
    }
}

/// Any credential latchkey issues, in this order: a bearer token in the
/// `Authorization` header, a session cookie, the hybrid's access-token
/// cookie. Both cookie kinds need `X-CSRF-Token` on unsafe methods.
#[derive(Debug)]
pub enum Credential {
    Session(SessionAuth),
    Bearer(BearerAuth),
    CookieJwt(BearerAuth),
}

/// What the hybrid's CSRF token is bound to: the refresh family (the
/// `sid` of its access tokens), in a namespace of its own.
pub use latchkey_auth::hybrid_binding;

impl Credential {
    pub fn user_id(&self) -> UserId {
        match self {
            Self::Session(s) => s.session.user_id,
            Self::Bearer(b) | Self::CookieJwt(b) => b.user_id,
        }
    }

    /// How the credential's holder signed in: the session's record, or the
    /// token's `amr` and `auth_time` claims (a token without `auth_time`,
    /// minted before tokens carried it, counts as signed in at the epoch:
    /// never recent).
    pub fn assurance(&self) -> Assurance {
        match self {
            Self::Session(s) => s.session.assurance.clone(),
            Self::Bearer(b) | Self::CookieJwt(b) => Assurance {
                amr: b.claims.amr.clone(),
                auth_time: Timestamp::from_unix_millis(
                    b.claims.auth_time.unwrap_or(0).saturating_mul(1000),
                ),
            },
        }
    }

    /// The `sid` its access tokens carry: the session's handle, or the
    /// token's family.
    pub fn sid(&self) -> &str {
        match self {
            Self::Session(s) => s.session.handle.as_str(),
            Self::Bearer(b) | Self::CookieJwt(b) => &b.claims.sid,
        }
    }

    /// The `auth` value of `/v1/me`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Session(_) => "session",
            Self::Bearer(_) => "bearer",
            Self::CookieJwt(_) => "cookie_jwt",
        }
    }
}

impl FromRequestParts<AppState> for Credential {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_query_token(parts)?;
        if let Some(token) = bearer_token(parts)? {
            return verify_bearer(state, token).map(Self::Bearer);
        }
        let access = cookies::read(&parts.headers, cookies::access_cookie_name(&state.settings))?;
        let session = SessionAuth::from_request_parts(parts, state).await;
        match (session, access) {
            (Ok(s), _) => Ok(Self::Session(s)),
            (Err(ApiError::Unauthenticated { .. }), Some(token)) => {
                let auth = verify_bearer(state, &token)?;
                if is_unsafe(&parts.method) {
                    require_csrf(&parts.headers, state, &hybrid_binding(&auth.claims.sid))?;
                }
                Ok(Self::CookieJwt(auth))
            }
            (Err(e), _) => Err(e),
        }
    }
}
