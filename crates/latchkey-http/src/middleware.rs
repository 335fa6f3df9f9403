//! Request-wide layers: request ids, one log line per request, latency
//! metrics, limits on headers and bodies, and response headers every
//! answer carries.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument as _;

use crate::error::ApiError;
use crate::metrics::{RouteLabels, method_label};
use crate::random::random;
use crate::state::AppState;

/// Most header bytes accepted (names + values); beyond this, `431`.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest body accepted on the auth endpoints; beyond this, `413`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const REQUEST_ID: &str = "x-request-id";

/// Assigns a request id (echoed in `X-Request-Id`), logs one line per
/// request with its route — never its query string, headers or body — and
/// records latency by route.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = state.clock.monotonic();
    let id = request_id(&req);
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v);
    }
    // A bounded label, in the metrics and the log alike: a client-chosen
    // method never becomes a label value.
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!("request", request_id = %id, %method, %route);
    // Where the request came from, for the security events it causes.
    let origin = latchkey_auth::audit::Origin {
        ip: crate::caller::client_ip(
            req.extensions(),
            req.headers(),
            &state.settings.trusted_proxies,
        )
        .map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        request_id: Some(id.clone()),
    };
    let mut res = latchkey_auth::audit::ORIGIN
        .scope(origin, next.run(req).instrument(span.clone()))
        .await;
    let elapsed = state.clock.monotonic().saturating_sub(start);
    let status = res.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    state
        .metrics
        .requests
        .get_or_create(&RouteLabels {
            method,
            route,
            status,
        })
        .observe(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

/// Keeps a well-formed client-sent id (so a proxy's id carries through),
/// otherwise makes one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map_or_else(
            || {
                random::<12>()
                    .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
                    .unwrap_or_default()
            },
            str::to_owned,
        )
}

/// `431` for oversized headers and `413` for a declared body too large,
/// before anything reads them.
pub async fn limits(req: Request, next: Next) -> Response {
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge.into_response();
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The BFF streams bodies and enforces each API's own limit.
    let proxied = req.uri().path().starts_with("/bff/");
    if !proxied && declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(req).await
}

/// Headers on every response: no sniffing, no framing, no referrer.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// tower-http's CORS layer adds `Access-Control-Allow-Credentials` and
/// friends to every response; latchkey sends no `Access-Control-*` header
/// at all unless the request's `Origin` is on the allow-list.
pub async fn cors_only_for_listed(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let listed = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| state.settings.cors_allowed_origins.iter().any(|a| a == o));
    let mut res = next.run(req).await;
    if !listed {
        let cors: Vec<_> = res
            .headers()
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for k in cors {
            res.headers_mut().remove(k);
        }
    }
    res
}
