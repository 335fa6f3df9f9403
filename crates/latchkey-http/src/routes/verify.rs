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
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::bearer::Credential;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use latchkey_auth::Subject;

/// Check a request on behalf of a reverse proxy.
#[utoipa::path(get, path = "/v1/verify", tag = "forward-auth",
    params(
        ("X-Forwarded-Method" = Option<String>, Header, pattern = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description = "The original request's method"),
        ("X-Original-Method" = Option<String>, Header, pattern = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description = "Same, as nginx is usually configured to send it"),
    ),
    responses(
        (status = 200, description = "Authenticated: copy `X-Latchkey-User`, `Authorization` (a token for `forward_auth.audience`, with `amr` and `auth_time` claims), `X-Latchkey-Amr` (the `amr` values, space-separated) and `X-Latchkey-Auth-Time` (Unix seconds) upstream"),
        (status = 400, body = Problem, description = "invalid_request: a method header that is not a method"),
        (status = 401, body = Problem, description = "No valid credential"),
        (status = 403, body = Problem, description = "csrf_failed for an unsafe original method"),
    ))]
pub async fn verify(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (mut parts, _) = req.into_parts();
    if let Some(m) = original_method(&parts.headers)? {
        parts.method = m;
    }
    let credential = Credential::from_request_parts(&mut parts, &state).await?;
    let user = credential.user_id();
    let assurance = credential.assurance();
    let subject = Subject {
        user,
        sid: credential.sid(),
        assurance: &assurance,
    };
    let (token, _) = state
        .tokens
        .session_token(
            subject,
            &state.settings.tokens.forward_auth_audience,
            state.clock.now(),
        )
        .map_err(|e| ApiError::Internal(format!("signing failed: {e}")))?;
    let mut res = (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&user.to_string()) {
        h.insert("x-latchkey-user", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        h.insert(header::AUTHORIZATION, v);
    }
    // The token carries them too; these save an upstream decoding it.
    if let Ok(v) = HeaderValue::from_str(&assurance.amr.join(" ")) {
        h.insert("x-latchkey-amr", v);
    }
    h.insert(
        "x-latchkey-auth-time",
        HeaderValue::from(assurance.auth_time.unix_seconds()),
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
