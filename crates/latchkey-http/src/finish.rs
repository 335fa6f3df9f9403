//! How a login ends, in each flavour: the same answer whether the password
//! alone sufficed or a second step (`/v1/mfa/verify`, the sign-in page's
//! code form) completed it. Route modules call these and never each other.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use latchkey_auth::{Flavour, Principal};
use serde::{Deserialize, Serialize};

use crate::caller::Caller;
use crate::cookies::{self, REFRESH_COOKIE_PATH};
use crate::error::ApiError;
use crate::json::AppJson;
use crate::login::{TokenPair, issue_session};
use crate::routes::{NO_STORE, UserView};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub user: UserView,
    /// Send as `X-CSRF-Token` on every unsafe request of this session.
    pub csrf_token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CookieLoginResponse {
    pub user: UserView,
    /// Send as `X-CSRF-Token` on every unsafe request of this login.
    pub csrf_token: String,
    /// Seconds until the access cookie's token expires.
    pub expires_in: i64,
}

/// Which credential a sign-in that names its flavour in the body (a
/// passkey sign-in) ends in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Issue {
    /// The cookie session (as `POST /v1/session/login`).
    #[default]
    Session,
    /// A bearer pair (as `POST /v1/token/login`).
    Tokens,
    /// The hybrid cookies (as `POST /v1/cookie/login`).
    CookieJwt,
}

impl From<Issue> for Flavour {
    fn from(issue: Issue) -> Self {
        match issue {
            Issue::Session => Self::Session,
            Issue::Tokens => Self::Tokens,
            Issue::CookieJwt => Self::CookieJwt,
        }
    }
}

/// The answer of the login `flavour` for `principal`. The sign-in page's
/// flavour answers here as the JSON session login does (its own form
/// redirects instead, see `ui`).
pub async fn respond(
    state: &AppState,
    client: &Caller,
    headers: &HeaderMap,
    principal: &Principal,
    flavour: Flavour,
    remember: bool,
) -> Result<Response, ApiError> {
    match flavour {
        Flavour::Session | Flavour::Page => {
            session(state, client, headers, principal, remember).await
        }
        Flavour::Tokens => tokens(state, principal).await,
        Flavour::CookieJwt => hybrid(state, principal, remember).await,
    }
}

/// `POST /v1/session/login`'s answer: the session cookie and its CSRF token.
pub async fn session(
    state: &AppState,
    client: &Caller,
    headers: &HeaderMap,
    principal: &Principal,
    remember: bool,
) -> Result<Response, ApiError> {
    let (cookie, session) = issue_session(state, client, headers, principal, remember).await?;
    let user = &principal.user;
    let body = LoginResponse {
        user: UserView::new(user.id, &user.username),
        csrf_token: state.csrf.token(session.handle.as_str()),
    };
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        NO_STORE,
        AppJson(body),
    )
        .into_response())
}

/// `POST /v1/token/login`'s answer: a bearer pair.
pub async fn tokens(state: &AppState, principal: &Principal) -> Result<Response, ApiError> {
    let pair = state.auth.issue_bearer(principal).await?;
    Ok(token_response(TokenPair::new(state, &pair)))
}

/// `POST /v1/cookie/login`'s answer: the hybrid cookies.
pub async fn hybrid(
    state: &AppState,
    principal: &Principal,
    remember: bool,
) -> Result<Response, ApiError> {
    let login = state.auth.issue_hybrid(principal).await?;
    let pair = TokenPair::new(state, &login.pair);
    let cookies = token_cookies(state, &pair, remember);
    let user = &principal.user;
    let body = CookieLoginResponse {
        user: UserView::new(user.id, &user.username),
        csrf_token: login.csrf_token,
        expires_in: pair.expires_in,
    };
    Ok((AppendHeaders(cookies), NO_STORE, AppJson(body)).into_response())
}

/// A token pair as JSON, never cached.
pub fn token_response(pair: TokenPair) -> Response {
    (
        NO_STORE,
        [(header::PRAGMA, HeaderValue::from_static("no-cache"))],
        AppJson(pair),
    )
        .into_response()
}

/// A third, value-less cookie remembers "remember me" across refreshes
/// (so a refresh does not turn persistent cookies into session ones).
pub fn remember_marker(state: &AppState) -> &'static str {
    if state.settings.cookie_secure {
        "__Secure-lk_remember"
    } else {
        "lk_remember"
    }
}

/// The hybrid's cookies for `pair`.
pub fn token_cookies(
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
