//! `GET /v1/verify`: forward authentication for nginx `auth_request`,
//! Traefik ForwardAuth and Caddy `forward_auth`.
//!
//! Accepts any of the three credentials. The original method comes from
//! `X-Forwarded-Method` (Traefik, Caddy) or `X-Original-Method` (nginx, by
//! configuration), so an unsafe request authenticated by a cookie still
//! needs its `X-CSRF-Token`; an original `TRACE` is refused. On success the
//! proxy copies `X-Latchkey-User` and `Authorization: Bearer <JWT>` to the
//! upstream.
//!
//! **Invariant:** the token handed on is always one minted for forward
//! auth's own audience (`forward_auth.audience`), whatever the credential:
//! never the client's first-party token, which the upstream could replay.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::bearer::Credential;
use crate::error::{ApiError, Problem};
use crate::forward_auth::{self, Decision, OriginalRequest, Who, redirect};
use crate::state::AppState;

/// Check a request on behalf of a reverse proxy.
#[utoipa::path(get, path = "/v1/verify", tag = "forward-auth",
    params(
        ("X-Forwarded-Method" = Option<String>, Header, pattern = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description = "The original request's method"),
        ("X-Original-Method" = Option<String>, Header, pattern = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description = "Same, as nginx is usually configured to send it"),
        ("X-Original-URL" = Option<String>, Header, description = "The original request's absolute URL (nginx)"),
        ("X-Forwarded-Host" = Option<String>, Header, description = "The original host (Traefik, Caddy), with `X-Forwarded-Proto` and `X-Forwarded-Uri`"),
        ("X-Latchkey-Proxy-Secret" = Option<String>, Header, description = "The shared secret, when `forward_auth.proxy_secret` is set"),
        ("mode" = Option<String>, Query, description = "`redirect`: a browser navigation without a credential gets `302` to the sign-in page"),
    ),
    responses(
        (status = 200, description = "Allowed: copy `X-Latchkey-User`, `X-Latchkey-Username`, `X-Latchkey-Groups` (comma-separated), `Authorization` (a token for `forward_auth.audience`, with `amr`, `auth_time` and `groups` claims), `X-Latchkey-Amr` (the `amr` values, space-separated) and `X-Latchkey-Auth-Time` (Unix seconds) upstream"),
        (status = 302, description = "With `mode=redirect`, a browser navigation without a credential: to `/login?rd=<original URL>`"),
        (status = 400, body = Problem, description = "invalid_request: a method header that is not a method, or a malformed original URL"),
        (status = 401, body = Problem, description = "No valid credential; `Location` names the sign-in page (with `rd` when the original host is allowed)"),
        (status = 403, body = Problem, description = "untrusted_proxy (the peer is not a trusted proxy), access_denied (a rule refuses), csrf_failed (an unsafe original method, or a cookie-authenticated WebSocket handshake from another origin)"),
    ))]
pub async fn verify(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (mut parts, _) = req.into_parts();
    let fa = &state.settings.forward_auth;
    if !forward_auth::from_trusted_proxy(
        &parts,
        &state.settings.trusted_proxies,
        fa.proxy_secret.as_ref(),
    ) {
        return Err(ApiError::Forbidden {
            code: "untrusted_proxy",
            detail: "Only a configured proxy may call /v1/verify.".into(),
        });
    }
    if let Some(m) = original_method(&parts.headers)? {
        parts.method = m;
    }
    let original =
        OriginalRequest::from_headers(&parts.headers, parts.method.clone()).map_err(|_| {
            ApiError::BadRequest {
                code: "invalid_request",
                detail: "The forwarded URL is malformed.".into(),
            }
        })?;
    if let (_, Decision::Deny(_)) = fa.rules.decide(original.as_ref(), None) {
        return Err(denied());
    }
    let credential = match Credential::from_request_parts(&mut parts, &state).await {
        Ok(c) => c,
        Err(e) => return Ok(sign_in(&state, &parts, original.as_ref(), e)),
    };
    let by_cookie = !matches!(credential, Credential::Bearer(_));
    if by_cookie && foreign_websocket(&state, &parts.headers, original.as_ref()) {
        return Err(ApiError::CsrfFailed);
    }
    allowed(&state, &credential, original.as_ref()).await
}

/// A WebSocket handshake (a `GET`, so no CSRF token) whose `Origin` is
/// neither the original request's origin nor latchkey's: a sibling
/// subdomain riding the user's cookie. Browsers always send `Origin` on
/// a handshake; nginx drops `Upgrade` but passes `Sec-WebSocket-Key`.
fn foreign_websocket(
    state: &AppState,
    headers: &HeaderMap,
    original: Option<&OriginalRequest>,
) -> bool {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let websocket = get("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
        || headers.contains_key("sec-websocket-key")
        || get("sec-fetch-mode") == Some("websocket");
    if !websocket {
        return false;
    }
    let Some(origin) = get("origin") else {
        return false;
    };
    let own = original.map(|o| format!("{}://{}", o.scheme, o.authority));
    let public = state.settings.public_origin.as_deref();
    !(own.is_some_and(|o| o.eq_ignore_ascii_case(origin))
        || public.is_some_and(|p| p.eq_ignore_ascii_case(origin)))
}

fn denied() -> ApiError {
    ApiError::Forbidden {
        code: "access_denied",
        detail: "The access rules refuse this request.".into(),
    }
}

/// The answer to a request without a valid credential: `401` naming the
/// sign-in page in `Location` (nginx turns it into a redirect with
/// `error_page`), or with `mode=redirect` a `302` there for a browser
/// navigation.
fn sign_in(
    state: &AppState,
    parts: &Parts,
    original: Option<&OriginalRequest>,
    e: ApiError,
) -> Response {
    let is_unauthenticated = matches!(e, ApiError::Unauthenticated { .. } | ApiError::InvalidToken);
    let mut res = e.into_response();
    if !is_unauthenticated {
        return res;
    }
    let login = login_url(state, original);
    let navigation = redirect_mode(parts) && is_navigation(&parts.headers);
    if navigation {
        res = (StatusCode::FOUND, [(header::CACHE_CONTROL, "no-store")]).into_response();
    }
    if let Ok(v) = HeaderValue::from_str(&login) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// `<public origin>/login`, with `rd` when the original URL may be
/// returned to.
fn login_url(state: &AppState, original: Option<&OriginalRequest>) -> String {
    let origin = state
        .settings
        .public_origin
        .clone()
        .unwrap_or_else(|| state.settings.tokens.issuer.clone());
    let rd = original.and_then(|o| {
        redirect::safe_redirect(
            &o.url(),
            &state.settings.forward_auth.allowed_redirect_domains,
        )
    });
    match rd {
        Some(rd) => format!("{origin}/login?rd={}", redirect::encode(&rd)),
        None => format!("{origin}/login"),
    }
}

fn redirect_mode(parts: &Parts) -> bool {
    parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "mode=redirect"))
}

/// A top-level navigation by a browser (not a script's fetch).
fn is_navigation(headers: &HeaderMap) -> bool {
    let get = |n| headers.get(n).and_then(|v| v.to_str().ok());
    match get("sec-fetch-mode") {
        Some(mode) => mode == "navigate",
        None => get(header::ACCEPT.as_str()).is_some_and(|a| a.contains("text/html")),
    }
}

/// The user is signed in: the rules decide, then the upstream's headers.
async fn allowed(
    state: &AppState,
    credential: &Credential,
    original: Option<&OriginalRequest>,
) -> Result<Response, ApiError> {
    let user = credential.user_id();
    let assurance = credential.assurance();
    let username = state
        .username(user)
        .await?
        .ok_or(ApiError::Unauthenticated { clear: None })?;
    let groups = state.store().groups_of(user).await?;
    let who = Who {
        username: username.as_str(),
        groups: &groups,
        amr: &assurance.amr,
    };
    if state
        .settings
        .forward_auth
        .rules
        .decide(original, Some(who))
        .1
        != Decision::Allow
    {
        return Err(denied());
    }
    let audience = &state.settings.tokens.forward_auth_audience;
    let token = crate::bff::mint_for(state, credential, &assurance, &groups, audience)?;
    let mut res = (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response();
    let h = res.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set("x-latchkey-user", user.to_string());
    set("x-latchkey-username", username.as_str().to_owned());
    set("x-latchkey-groups", groups.join(","));
    set("authorization", format!("Bearer {token}"));
    // The token carries them too; these save an upstream decoding it.
    set("x-latchkey-amr", assurance.amr.join(" "));
    set(
        "x-latchkey-auth-time",
        assurance.auth_time.unix_seconds().to_string(),
    );
    Ok(res)
}

/// The method of the request the proxy asks about. Both headers are read;
/// if either names an unsafe method, that one counts (a client-sent header
/// must not downgrade the proxy's).
fn original_method(headers: &axum::http::HeaderMap) -> Result<Option<Method>, ApiError> {
    let mut original: Option<Method> = None;
    for name in ["x-forwarded-method", "x-original-method"] {
        let Some(value) = headers.get(name) else {
            continue;
        };
        let method = value
            .to_str()
            .ok()
            .and_then(|m| Method::from_bytes(m.trim().as_bytes()).ok())
            .ok_or_else(|| ApiError::BadRequest {
                code: "invalid_request",
                detail: format!("{name} is not a method."),
            })?;
        if method == Method::TRACE {
            return Err(ApiError::MethodNotAllowed);
        }
        if original.as_ref().is_none_or(|m| !crate::auth::is_unsafe(m)) {
            original = Some(method);
        }
    }
    Ok(original)
}
