//! A principal becomes the answer of the credential flavour its login
//! started in: the cookie session, the bearer pair or the hybrid cookies.
//! Every way in (the password logins, a passkey sign-in) ends here, so a
//! flavour's success looks the same whatever proved who the caller is.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use latchkey_auth::Principal;
use serde::Deserialize;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::json::AppJson;
use crate::login::{TokenPair, issue_session};
use crate::routes::cookie::{CookieLoginResponse, token_cookies};
use crate::routes::sessions::LoginResponse;
use crate::routes::{NO_STORE, UserView};
use crate::state::AppState;

/// Which credential a login ends in.
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

/// `principal`'s credential in flavour `issue`, answered as that flavour's
/// password login answers.
pub async fn answer(
    state: &AppState,
    client: &Caller,
    headers: &HeaderMap,
    principal: &Principal,
    issue: Issue,
    remember: bool,
) -> Result<Response, ApiError> {
    match issue {
        Issue::Session => session(state, client, headers, principal, remember).await,
        Issue::Tokens => tokens(state, principal).await,
        Issue::CookieJwt => hybrid(state, principal, remember).await,
    }
}

/// A new cookie session: the cookie, the user and the CSRF token.
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

/// A bearer pair in the body.
pub async fn tokens(state: &AppState, principal: &Principal) -> Result<Response, ApiError> {
    let pair = state.auth.issue_bearer(principal).await?;
    Ok(token_response(TokenPair::new(state, &pair)))
}

/// A token pair as the token endpoints answer it (never cached).
pub fn token_response(pair: TokenPair) -> Response {
    (
        NO_STORE,
        [(header::PRAGMA, HeaderValue::from_static("no-cache"))],
        AppJson(pair),
    )
        .into_response()
}

/// The hybrid: both tokens in `HttpOnly` cookies, the CSRF token in the body.
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
