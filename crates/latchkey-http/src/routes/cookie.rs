//! The hybrid: the access JWT in an `HttpOnly` cookie, the refresh token in
//! a second cookie scoped to `/v1/cookie`, and an anti-forgery header bound
//! to the login (`/v1/cookie/*`).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use latchkey_core::refresh::RefreshSecret;
use serde::{Deserialize, Serialize};

use super::{NO_STORE, UserView};
use crate::auth::{SameSiteLogin, require_csrf};
use crate::bearer::hybrid_binding;
use crate::caller::Caller;
use crate::cookies::{self, REFRESH_COOKIE_PATH};
use crate::error::{ApiError, Problem};
use crate::flavours;
use crate::json::AppJson;
use crate::login::{TokenPair, end_sessions, rotate, sign_in};
use crate::state::AppState;
use latchkey_auth::EndSessions;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CookieLoginRequest {
    pub username: String,
    pub password: String,
    /// Keep the cookies after the browser closes.
    #[serde(default)]
    pub remember: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CookieLoginResponse {
    pub user: UserView,
    /// Send as `X-CSRF-Token` on every unsafe request of this login.
    pub csrf_token: String,
    /// Seconds until the access cookie's token expires.
    pub expires_in: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CookieRefreshResponse {
    /// Unchanged for the life of the login.
    pub csrf_token: String,
    pub expires_in: i64,
}

/// Log in; the tokens go into `HttpOnly` cookies, never into the body.
#[utoipa::path(post, path = "/v1/cookie/login", tag = "hybrid", operation_id = "cookie_login",
    request_body = CookieLoginRequest,
    responses(
        (status = 200, body = CookieLoginResponse, description = "Sets __Host-lk_at and __Secure-lk_rt"),
        (status = 401, body = Problem, description = "invalid_credentials"),
        (status = 403, body = Problem, description = "csrf_failed: cross-site login"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    _: SameSiteLogin,
    client: Caller,
    AppJson(body): AppJson<CookieLoginRequest>,
) -> Result<Response, ApiError> {
    let principal = sign_in(&state, &client, &body.username, body.password).await?;
    flavours::hybrid(&state, &principal, body.remember).await
}

/// Rotate the refresh cookie and replace both cookies.
#[utoipa::path(post, path = "/v1/cookie/refresh", tag = "hybrid", operation_id = "cookie_refresh",
    params(("X-CSRF-Token" = String, Header, description = "From the login response")),
    responses(
        (status = 200, body = CookieRefreshResponse, description = "Both cookies replaced"),
        (status = 401, body = Problem, description = "invalid_grant; cookies cleared"),
        (status = 403, body = Problem, description = "csrf_failed"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (presented, family) = refresh_cookie(&state, &headers).await?;
    let family = family.id;
    require_csrf(&headers, &state, &hybrid_binding(&family))?;
    let remember = cookies::read(&headers, remember_marker(&state))?.is_some();
    let pair = match rotate(&state, &presented).await {
        Ok(pair) => pair,
        Err(e) => return Ok(with_cleared_cookies(&state, e.into_response())),
    };
    let body = CookieRefreshResponse {
        csrf_token: state.csrf.token(&hybrid_binding(&family)),
        expires_in: pair.expires_in,
    };
    let cookies = token_cookies(&state, &pair, remember);
    Ok((AppendHeaders(cookies), NO_STORE, AppJson(body)).into_response())
}

/// The CSRF token of the login named by the refresh cookie, for an SPA
/// that reloaded and lost it (only same-origin pages and listed CORS
/// origins can read the answer).
#[utoipa::path(get, path = "/v1/cookie/csrf", tag = "hybrid",
    responses(
        (status = 200, body = CookieRefreshResponse),
        (status = 401, body = Problem, description = "no live hybrid login"),
    ))]
pub async fn csrf(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (_, family) = refresh_cookie(&state, &headers).await?;
    if family.revoked_at.is_some() || family.expires_at <= state.clock.now() {
        return Err(ApiError::InvalidGrant);
    }
    let body = CookieRefreshResponse {
        csrf_token: state.csrf.token(&hybrid_binding(&family.id)),
        expires_in: 0,
    };
    Ok((NO_STORE, AppJson(body)).into_response())
}

/// Log out: the family (and with it every token of this login) is revoked
/// and both cookies cleared.
#[utoipa::path(post, path = "/v1/cookie/logout", tag = "hybrid", operation_id = "cookie_logout",
    params(("X-CSRF-Token" = String, Header, description = "From the login response")),
    responses(
        (status = 204, description = "Revoked; cookies cleared"),
        (status = 401, body = Problem, description = "no hybrid login"),
        (status = 403, body = Problem, description = "csrf_failed"),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let family = match refresh_cookie(&state, &headers).await {
        Ok((_, family)) => family.id,
        // The refresh cookie is gone or dead: the access cookie names it.
        Err(_) => access_cookie_family(&state, &headers)?,
    };
    require_csrf(&headers, &state, &hybrid_binding(&family))?;
    end_sessions(&state, EndSessions::Family(&family)).await?;
    let res = (StatusCode::NO_CONTENT, NO_STORE).into_response();
    Ok(with_cleared_cookies(&state, res))
}

/// The refresh cookie and the family it belongs to.
///
/// When the access cookie carries a token this server signed (expired or
/// not), its `sid` must name that family: a refresh cookie of another
/// login — planted by a sibling subdomain, which can set `__Secure-`
/// cookies but not `__Host-` ones — is refused, never rotated into this
/// browser. Without a usable access cookie the refresh cookie stands alone.
async fn refresh_cookie(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(RefreshSecret, latchkey_store::Family), ApiError> {
    let raw = cookies::read(headers, cookies::refresh_cookie_name(&state.settings))?
        .ok_or(ApiError::Unauthenticated { clear: None })?;
    let access = cookies::read(headers, cookies::access_cookie_name(&state.settings))?;
    let secret = RefreshSecret::parse(&raw).map_err(|_| ApiError::InvalidGrant)?;
    let family = state
        .store
        .family_of(&secret.hash())
        .await?
        .ok_or(ApiError::InvalidGrant)?;
    let now = state.clock.now();
    if let Some(sid) = access.and_then(|t| state.tokens.sid_ignoring_expiry(&t, now))
        && sid != family.id
    {
        tracing::warn!("hybrid refresh cookie of another login than its access cookie refused");
        return Err(ApiError::InvalidGrant);
    }
    Ok((secret, family))
}

/// The family named by a valid access cookie.
fn access_cookie_family(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let token = cookies::read(headers, cookies::access_cookie_name(&state.settings))?
        .ok_or(ApiError::Unauthenticated { clear: None })?;
    let claims = state
        .tokens
        .verify_for_revocation(&token, state.clock.now())
        .ok_or(ApiError::InvalidToken)?;
    Ok(claims.sid)
}

/// A third, value-less cookie remembers "remember me" across refreshes
/// (so a refresh does not turn persistent cookies into session ones).
fn remember_marker(state: &AppState) -> &'static str {
    if state.settings.cookie_secure {
        "__Secure-lk_remember"
    } else {
        "lk_remember"
    }
}

pub(crate) fn token_cookies(
    state: &AppState,
    pair: &TokenPair,
    remember: bool,
) -> Vec<(header::HeaderName, HeaderValue)> {
    let s = &state.settings;
    let t = state.tokens.settings();
    let persist = |d| remember.then_some(d);
    let mut out = vec![
        (
            header::SET_COOKIE,
            cookies::set(
                s,
                cookies::access_cookie_name(s),
                pair.access_token.clone(),
                "/",
                persist(t.access_ttl),
            ),
        ),
        (
            header::SET_COOKIE,
            cookies::set(
                s,
                cookies::refresh_cookie_name(s),
                pair.refresh_token.clone(),
                REFRESH_COOKIE_PATH,
                persist(t.refresh_ttl),
            ),
        ),
    ];
    if remember {
        out.push((
            header::SET_COOKIE,
            cookies::set(
                s,
                remember_marker(state),
                "1".into(),
                REFRESH_COOKIE_PATH,
                Some(t.refresh_ttl),
            ),
        ));
    }
    out
}

fn with_cleared_cookies(state: &AppState, mut res: Response) -> Response {
    let s = &state.settings;
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookies::clear(s, cookies::access_cookie_name(s), "/"),
    );
    h.append(
        header::SET_COOKIE,
        cookies::clear(s, cookies::refresh_cookie_name(s), REFRESH_COOKIE_PATH),
    );
    h.append(
        header::SET_COOKIE,
        cookies::clear(s, remember_marker(state), REFRESH_COOKIE_PATH),
    );
    res
}
