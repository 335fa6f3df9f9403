//! Sign in with an OpenID Connect provider: the start (a redirect to the
//! provider), the callback (a credential, then a same-origin continue
//! page) and back-channel logout. The use cases are in
//! `latchkey_auth::federation`.

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_auth::{Authentication, Flavour, Principal};
use latchkey_oidc::Provider;
use serde::Deserialize;

use super::NO_STORE;
use crate::auth::load_session;
use crate::caller::Caller;
use crate::cookies;
use crate::error::{ApiError, Problem};
use crate::finish::token_cookies;
use crate::login::{TokenPair, device, issue_session};
use crate::state::AppState;
use crate::ui;

/// The provider sign-in routes and the identities' (see
/// [`super::identities`]).
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(callback))
        .routes(routes!(backchannel_logout))
        .routes(routes!(super::identities::list))
        .routes(routes!(super::identities::unlink))
}

/// The cookie binding a pending authorisation to the browser. `Lax`: the
/// callback is a top-level navigation from the provider's site.
fn binding_cookie(state: &AppState) -> &'static str {
    if state.settings.cookie_secure {
        "__Host-lk_oidc"
    } else {
        "lk_oidc"
    }
}

fn binding_set(state: &AppState, value: String, max_age: std::time::Duration) -> HeaderValue {
    let c = cookie::Cookie::build((binding_cookie(state), value))
        .http_only(true)
        .secure(state.settings.cookie_secure)
        .same_site(cookie::SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(600),
        ))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StartQuery {
    /// `session` (default) or `cookie_jwt`.
    pub issue: Option<String>,
    /// Where to go after: a path on this site (default `/account`).
    pub return_to: Option<String>,
}

/// Whether `to` is a path on this origin: `/…`, never `//host` or
/// `/\host` (which browsers read as another host), no control characters.
pub fn same_origin_path(to: &str) -> bool {
    to.starts_with('/')
        && !to.starts_with("//")
        && !to.starts_with("/\\")
        && to.len() <= 512
        && !to.chars().any(|c| c.is_control() || c == '\\')
}

fn provider(
    state: &AppState,
    name: Result<Path<String>, PathRejection>,
) -> Result<&Provider, ApiError> {
    let Path(name) = name.map_err(|_| ApiError::NotFound)?;
    state
        .oidc
        .get(&name)
        .map(AsRef::as_ref)
        .ok_or(ApiError::NotFound)
}

fn bad(code: &'static str, detail: &str) -> ApiError {
    ApiError::BadRequest {
        code,
        detail: detail.into(),
    }
}

/// Start signing in at `provider`: a `303` to its authorization endpoint
/// (code flow, PKCE S256, `state`, `nonce`). A signed-in browser links the
/// identity to its account instead.
#[utoipa::path(get, path = "/v1/oidc/{provider}/start", tag = "oidc", operation_id = "oidc_start",
    params(("provider" = String, Path, description = "A configured provider's name"), StartQuery),
    responses(
        (status = 303, description = "To the provider; sets the browser-binding cookie"),
        (status = 400, body = Problem, description = "invalid_return_to or invalid_request"),
        (status = 404, body = Problem, description = "No such provider"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 502, body = Problem, description = "The provider is unavailable"),
        (status = 503, body = Problem, description = "overloaded: too many sign-ins waiting"),
    ))]
pub async fn start(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    query: Result<Query<StartQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let provider = provider(&state, name)?;
    let Query(q) = query.map_err(|_| bad("invalid_request", "unreadable query"))?;
    let flavour = match q.issue.as_deref() {
        None | Some("session") => Flavour::Session,
        Some("cookie_jwt") => Flavour::CookieJwt,
        Some(_) => return Err(bad("invalid_request", "issue is session or cookie_jwt")),
    };
    let return_to = q.return_to.unwrap_or_else(|| "/account".into());
    if !same_origin_path(&return_to) {
        return Err(bad(
            "invalid_return_to",
            "return_to must be a path on this site",
        ));
    }
    let linking = load_session(&headers, &state)
        .await
        .ok()
        .map(|l| l.auth.session.user_id);
    let started = state
        .auth
        .start_federated(provider, flavour, return_to, linking)
        .await?;
    let location = HeaderValue::from_str(&started.url)
        .map_err(|_| ApiError::Internal("provider URL".into()))?;
    let cookie = binding_set(
        &state,
        started.binding,
        latchkey_auth::federation::AUTHORISATION_TTL,
    );
    Ok((
        StatusCode::SEE_OTHER,
        NO_STORE,
        [(header::LOCATION, location), (header::SET_COOKIE, cookie)],
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when the sign-in did not happen.
    pub error: Option<String>,
    /// The provider's issuer (RFC 9207), when it says: must be this
    /// provider's (a mix-up defence).
    pub iss: Option<String>,
}

/// The provider sends the browser back here: the `state` must be one this
/// browser started (its cookie), unused and at most 10 minutes old; the
/// code is exchanged and the ID token checked. The credential chosen at
/// the start is set, and a small page continues to `return_to` with a
/// same-origin navigation.
#[utoipa::path(get, path = "/v1/oidc/{provider}/callback", tag = "oidc", operation_id = "oidc_callback",
    params(("provider" = String, Path, description = "A configured provider's name"), CallbackQuery),
    responses(
        (status = 200, content_type = "text/html", body = String,
         description = "Signed in (the credential is set), or the second-factor step"),
        (status = 400, body = Problem, description = "oidc_failed or invalid_request"),
        (status = 403, body = Problem, description = "registration_disabled"),
        (status = 404, body = Problem, description = "No such provider"),
        (status = 409, body = Problem, description = "identity_linked: the identity belongs to another account"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 502, body = Problem, description = "The provider is unavailable"),
    ))]
pub async fn callback(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    client: Caller,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let provider = provider(&state, name)?;
    let Query(q) = query.map_err(|_| bad("invalid_request", "unreadable query"))?;
    if q.error.is_some() {
        return Err(bad("oidc_failed", "the provider did not sign the user in"));
    }
    if q.iss
        .as_ref()
        .is_some_and(|iss| *iss != provider.config.issuer)
    {
        return Err(bad("oidc_failed", "the answer is from another issuer"));
    }
    let (Some(code), Some(st)) = (q.code, q.state) else {
        return Err(bad("invalid_request", "code and state are required"));
    };
    let binding = cookies::read(&headers, binding_cookie(&state))?;
    let done = state
        .auth
        .finish_federated(
            provider,
            &st,
            &code,
            binding.as_deref(),
            state.settings.allow_registration,
        )
        .await?;
    let mut res = match done.authentication {
        Authentication::Principal(p) => {
            let cookies = credential(&state, &client, &headers, &p, done.flavour).await?;
            let mut res = ui::page(StatusCode::OK, ui::oidc::continue_page(&done.return_to));
            for c in cookies {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            res
        }
        Authentication::Challenge(mut challenge) => {
            let mfa_token = state
                .auth
                .start_pending_login(&mut challenge, Flavour::Page, false, &device(&client))
                .await?;
            state
                .auth
                .stash_federated_login(&mfa_token, &done.login)
                .await?;
            let passkey = challenge.accepts.iter().any(|m| m.name() == "webauthn");
            let none = ui::mfa_pages::CodeMessage::None;
            ui::mfa::code_step_page(&state, StatusCode::OK, (&mfa_token, &none, passkey), None)
        }
    };
    let cleared = cookies::clear(&state.settings, binding_cookie(&state), "/");
    res.headers_mut().append(header::SET_COOKIE, cleared);
    Ok(res)
}

/// The credential of `flavour` for `principal`, as `Set-Cookie` values
/// (recorded as the provider session's by the use case).
async fn credential(
    state: &AppState,
    client: &Caller,
    headers: &HeaderMap,
    principal: &Principal,
    flavour: Flavour,
) -> Result<Vec<HeaderValue>, ApiError> {
    if flavour == Flavour::CookieJwt {
        let hybrid = state.auth.issue_hybrid(principal).await?;
        let pair = TokenPair::new(state, &hybrid.pair);
        let cookies = token_cookies(state, &pair, false);
        return Ok(cookies.into_iter().map(|(_, v)| v).collect());
    }
    let (cookie, _) = issue_session(state, client, headers, principal, false).await?;
    Ok(vec![cookie])
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BackchannelLogoutForm {
    pub logout_token: String,
}

/// OpenID Connect Back-Channel Logout 1.0: the provider posts a signed
/// `logout_token`; every session and refresh family started through the
/// provider session (`sid`) or subject (`sub`) it names ends at once, on
/// every node, as "log out everywhere" ends them.
#[utoipa::path(post, path = "/v1/oidc/{provider}/backchannel-logout", tag = "oidc",
    operation_id = "oidc_backchannel_logout",
    params(("provider" = String, Path, description = "A configured provider's name")),
    request_body(content = BackchannelLogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Logged out (also when nothing matched)"),
        (status = 400, body = Problem, description = "oidc_failed: the token was refused or replayed"),
        (status = 404, body = Problem, description = "No such provider"),
        (status = 429, body = Problem, description = "rate_limited"),
    ))]
pub async fn backchannel_logout(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<BackchannelLogoutForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let provider = provider(&state, name)?;
    let Form(form) = form.map_err(|_| bad("invalid_request", "logout_token is required"))?;
    let ended = state
        .auth
        .backchannel_logout(provider, &form.logout_token)
        .await?;
    state.ended(&ended);
    Ok((StatusCode::OK, NO_STORE).into_response())
}
