//! CORS for `/bff/…`: latchkey's allow-list, never the upstream's.
//!
//! **Invariant:** no `Access-Control-*` field from an upstream reaches the
//! browser. An `Origin` listed in `cors.allowed_origins` gets latchkey's
//! own credentialed answer (and its preflights are answered here, since a
//! preflight carries no credential to forward); any other gets none.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse as _, Response};

use crate::state::AppState;

/// Methods a listed origin may use (latchkey's own routes and the BFF).
pub(crate) const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Request fields a listed origin may send.
pub(crate) const HEADERS: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::AUTHORIZATION,
    HeaderName::from_static(crate::auth::CSRF_HEADER),
];

/// Response fields a listed origin may read besides the safelisted ones.
pub(crate) const EXPOSED: HeaderName = HeaderName::from_static("x-request-id");

/// Seconds a browser may cache a preflight answer.
pub(crate) const MAX_AGE_SECS: u64 = 600;

/// The request's `Origin` if it is on the allow-list.
pub(crate) fn listed_origin(headers: &HeaderMap, state: &AppState) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    state
        .settings
        .cors_allowed_origins
        .iter()
        .any(|a| a == text)
        .then(|| origin.clone())
}

/// latchkey's answer to a preflight from a listed origin; `None` for any
/// other request (which goes on to the upstream, or is refused there).
pub(super) fn preflight(req: &Request, origin: Option<&HeaderValue>) -> Option<Response> {
    let is_preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let origin = origin.filter(|_| is_preflight)?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    let join = |items: &mut dyn Iterator<Item = &str>| items.collect::<Vec<_>>().join(", ");
    let methods = join(&mut METHODS.iter().map(Method::as_str));
    let headers = join(&mut HEADERS.iter().map(HeaderName::as_str));
    for (name, value) in [
        (header::ACCESS_CONTROL_ALLOW_METHODS, methods),
        (header::ACCESS_CONTROL_ALLOW_HEADERS, headers),
        (header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    h.append(
        header::VARY,
        HeaderValue::from_static("access-control-request-method, access-control-request-headers"),
    );
    grant(h, origin.clone());
    Some(res)
}

/// Replaces whatever CORS fields `res` has with latchkey's for `origin`.
pub(super) fn apply(res: &mut Response, origin: Option<HeaderValue>) {
    let h = res.headers_mut();
    let upstream: Vec<HeaderName> = h
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for k in upstream {
        h.remove(k);
    }
    if let Some(origin) = origin {
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from(EXPOSED),
        );
        grant(h, origin);
    }
}

fn grant(h: &mut HeaderMap, origin: HeaderValue) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.append(header::VARY, HeaderValue::from_static("origin"));
}
