//! The server-rendered pages: `/login` and `/account`. They work without
//! JavaScript: plain forms, each carrying the session's CSRF token in a
//! hidden field, answered with `303 See Other`. Passkeys alone need script
//! (see [`passkeys`]).
//!
//! **Invariant:** every page is sent with a strict Content-Security-Policy
//! (no script but latchkey's own passkey file on the two passkey pages,
//! styles only from our own origin, forms only to our own origin, no
//! framing), `no-store`, and escapes every value it shows.
//! A form handler can get the session only through [`UiForm`], which
//! checks the form's CSRF token and the request's origin first. Every
//! answer is a page or a redirect: errors, an unreadable form or query
//! included, are HTML pages ([`forms::error_page`]).

pub mod account;
pub mod account_page;
pub mod activity;

pub(crate) use account_page::render_account;
pub mod email;
pub mod email_pages;
pub mod forms;
pub mod mfa;
pub mod mfa_pages;
pub mod oidc;
pub mod pages;
pub mod passkeys;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_auth::Flavour;
use serde::de::DeserializeOwned;

pub use forms::{
    AccountQuery, CsrfField, CsrfOnly, LoginForm, LoginQuery, LogoutForm, PageForm, PasswordForm,
    error_page,
};

use crate::auth::{SameSiteLogin, SessionAuth, load_session, refuse_cross_site};
use crate::caller::Caller;
use crate::cookies;
use crate::error::ApiError;
use crate::login::{issue_session, sign_in};
use crate::state::AppState;
use pages::LoginMessage;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// A rendered page with the UI's headers.
pub(crate) fn page(status: StatusCode, markup: maud::Markup) -> Response {
    let mut res = (status, axum::response::Html(markup.into_string())).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn see_other(location: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// `rd` when it may be followed (see `forward_auth::redirect`).
pub(crate) fn return_to(state: &AppState, rd: Option<&str>) -> Option<String> {
    crate::forward_auth::redirect::safe_redirect(
        rd?,
        &state.settings.forward_auth.allowed_redirect_domains,
    )
}

/// A page whose form may lead (by the `303` that answers it) to `rd`'s
/// origin: browsers apply `form-action` to the redirect too.
pub(crate) fn allow_form_target(mut res: Response, rd: Option<&str>) -> Response {
    let Some(rd) = rd else {
        return res;
    };
    let (scheme, rest) = rd.split_once("://").unwrap_or(("https", rd));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let h = res.headers_mut();
    let current = h
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(CSP);
    let csp = current.replace(
        "form-action 'self'",
        &format!("form-action 'self' {scheme}://{authority}"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// `303` to `rd` when it may be followed, else to `fallback`.
fn see_other_rd(rd: Option<&str>, fallback: &'static str) -> Response {
    match rd.and_then(|r| HeaderValue::from_str(r).ok()) {
        Some(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        None => see_other(fallback),
    }
}

/// `303` to `location`, also clearing the session cookie.
fn see_other_cleared(state: &AppState, location: &'static str) -> Response {
    let mut res = see_other(location);
    let name = cookies::session_cookie_name(&state.settings);
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(&state.settings, name, "/"),
    );
    res
}

/// `303` to an allowed `rd`, also clearing the session cookie.
fn see_other_rd_cleared(state: &AppState, rd: &str) -> Response {
    let mut res = see_other_rd(Some(rd), "/login?out=1");
    let name = cookies::session_cookie_name(&state.settings);
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(&state.settings, name, "/"),
    );
    res
}

/// How a UI request that cannot go on is answered: to the login page when
/// there is no session, a refusal page for forgery, an error page otherwise.
fn ui_rejection(state: &AppState, e: ApiError) -> Response {
    match e {
        ApiError::Unauthenticated { clear: Some(_) } => see_other_cleared(state, "/login"),
        ApiError::Unauthenticated { clear: None } => see_other("/login"),
        ApiError::CsrfFailed => page(StatusCode::FORBIDDEN, pages::forbidden()),
        other => error_page(other),
    }
}

/// [`SameSiteLogin`] for a page: a cross-site sign-in form gets the
/// refusal page.
pub struct SameSitePage;

impl FromRequestParts<AppState> for SameSitePage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        SameSiteLogin::from_request_parts(parts, state)
            .await
            .map_err(|e| ui_rejection(state, e))?;
        Ok(Self)
    }
}

/// A form posted by a signed-in user, with its CSRF token and origin
/// already checked.
pub struct UiForm<T> {
    pub auth: SessionAuth,
    pub form: T,
}

impl<T: DeserializeOwned + CsrfField + Send> FromRequest<AppState> for UiForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let loaded = load_session(req.headers(), state)
            .await
            .map_err(|e| ui_rejection(state, e))?;
        refuse_cross_site(req.headers(), state).map_err(|e| ui_rejection(state, e))?;
        let PageForm(form) = PageForm::<T>::from_request(req, state).await?;
        if !state
            .csrf
            .verify(loaded.auth.session.handle.as_str(), form.csrf())
        {
            return Err(ui_rejection(state, ApiError::CsrfFailed));
        }
        let auth = loaded
            .touch(state)
            .await
            .map_err(|e| ui_rejection(state, e))?;
        Ok(Self { auth, form })
    }
}

/// The sign-in page.
#[utoipa::path(get, path = "/login", tag = "ui", operation_id = "ui_login_page",
    responses((status = 200, content_type = "text/html", body = String),
              (status = 303, description = "Already signed in: to /account")))]
pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    // The query only picks a notice: one that cannot be read is ignored.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let rd = return_to(&state, q.rd.as_deref());
    if load_session(&headers, &state).await.is_ok() {
        return see_other_rd(rd.as_deref(), "/account");
    }
    let message = if q.out.is_some() {
        LoginMessage::LoggedOut
    } else if q.reset.is_some() {
        LoginMessage::PasswordReset
    } else {
        LoginMessage::None
    };
    login_form(&state, StatusCode::OK, &message, "", rd.as_deref())
}

/// The sign-in page (allowed its script when passkeys are on).
pub(crate) fn login_form(
    state: &AppState,
    status: StatusCode,
    message: &LoginMessage,
    user: &str,
    rd: Option<&str>,
) -> Response {
    let passkeys = state.auth.webauthn.is_some();
    let forgot = state.settings.email.is_some();
    let res = passkeys::allow_script(
        passkeys,
        page(
            status,
            pages::login(
                message,
                user,
                passkeys,
                rd,
                oidc::provider_buttons(&state.oidc),
                forgot,
            ),
        ),
    );
    allow_form_target(res, rd)
}

/// Sign in with the form.
#[utoipa::path(post, path = "/login", tag = "ui", operation_id = "ui_login",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Signed in: to /account, with the session cookie"),
              (status = 401, content_type = "text/html", body = String, description = "The form again, with one generic message"),
              (status = 403, content_type = "text/html", body = String, description = "Cross-site login"),
              (status = 429, content_type = "text/html", body = String, description = "The form again: too many attempts"),
              (status = 503, content_type = "text/html", body = String, description = "The form again: busy")))]
pub async fn login_submit(
    State(state): State<AppState>,
    _: SameSitePage,
    client: Caller,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    let rd = return_to(&state, form.rd.as_deref());
    let failed =
        |status, message| login_form(&state, status, &message, &form.username, rd.as_deref());
    let remember = form.remember.is_some();
    let password = form.password.clone();
    let signed_in = sign_in(
        &state,
        &client,
        &form.username,
        password,
        Flavour::Page,
        remember,
    );
    let principal = match signed_in.await {
        Ok(principal) => principal,
        Err(ApiError::InvalidCredentials) => {
            return failed(StatusCode::UNAUTHORIZED, LoginMessage::Failed);
        }
        Err(ApiError::RateLimited { retry_after }) => {
            let minutes = retry_after.as_secs().div_ceil(60).max(1);
            let mut res = failed(
                StatusCode::TOO_MANY_REQUESTS,
                LoginMessage::RateLimited { minutes },
            );
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs().max(1)),
            );
            return res;
        }
        Err(ApiError::Overloaded) => {
            return failed(StatusCode::SERVICE_UNAVAILABLE, LoginMessage::Busy);
        }
        Err(ApiError::MfaRequired { mfa_token, methods }) => {
            let step = (
                mfa_token.as_str(),
                &mfa_pages::CodeMessage::None,
                methods.contains(&"webauthn"),
            );
            return mfa::code_step_page(&state, StatusCode::OK, step, rd.as_deref());
        }
        Err(e) => return error_page(e),
    };
    match issue_session(&state, &client, &headers, &principal, remember).await {
        Ok((cookie, _)) => {
            let mut res = see_other_rd(rd.as_deref(), "/account");
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        Err(e) => error_page(e),
    }
}

/// The root: to the account page (which sends a stranger to sign in).
#[utoipa::path(get, path = "/", tag = "ui", operation_id = "ui_root",
    responses((status = 303, description = "To /account")))]
pub async fn root() -> Response {
    see_other("/account")
}

/// The stylesheet (compiled in).
#[utoipa::path(get, path = "/static/latchkey.css", tag = "ui",
    responses((status = 200, content_type = "text/css", body = String)))]
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("style.css"),
    )
        .into_response()
}
