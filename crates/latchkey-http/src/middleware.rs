//! The request-wide layer, [`ObserveLayer`]: one pass around every request of a
//! listener that gives it an id, refuses what is refused before any route
//! runs (TRACE, oversized headers, a declared body too large), puts the
//! body-read deadline on a body, and on the way out adds the headers every
//! answer carries, drops CORS headers an unlisted origin must not see,
//! records latency by route and writes the access-log line.
//!
//! One layer rather than one per concern, and a tower service rather than
//! `from_fn`: each `from_fn` layer clones the whole service stack below it
//! (tower-http's CORS layer and its lists included), boxes it and boxes a
//! future, per request; five of them were a measurable part of the
//! per-request floor (docs/BENCHMARKS.md, "Per-request floor").

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::error::ApiError;
use crate::metrics::{Route, RouteLabels, method_label};
use crate::state::AppState;

/// Most header bytes accepted (names + values); beyond this, `431`.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest body accepted on the auth endpoints; beyond this, `413`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request-wide layer (see the module's documentation).
#[derive(Clone)]
pub struct ObserveLayer {
    state: AppState,
}

impl ObserveLayer {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            state: self.state.clone(),
        }
    }
}

/// [`ObserveLayer`]'s service. Everything before the route runs happens in
/// `call`, which hands the request on at once: the service below is not
/// cloned per request, and one boxed future carries the rest.
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let state = self.state.clone();
        let start = state.clock.monotonic();
        let id = request_id(req.headers());
        req.headers_mut().insert(REQUEST_ID, id.clone());
        // A bounded label, in the metrics and the log alike: a
        // client-chosen method never becomes a label value.
        let method = method_label(req.method());
        let route = Route(req.extensions().get::<MatchedPath>().cloned());
        // The BFF streams bodies under each API's own limits and passes its
        // upstream's CORS headers through untouched.
        let proxied = req.uri().path().starts_with("/bff/");
        let cors_listed =
            proxied || crate::bff::cors::listed_origin(req.headers(), &state).is_some();
        // The access log line names the route template: never the query
        // string, headers or body.
        let span = tracing::info_span!(
            "request",
            request_id = id.to_str().unwrap_or_default(),
            method,
            route = route.as_str()
        );
        let routed = match refusal(&req, proxied) {
            Some(refused) => Err(refused),
            None => {
                if !proxied {
                    crate::deadline::limit_body(&mut req, state.settings.body_read_timeout);
                }
                // Where the request came from, for the security events it
                // causes.
                let origin = latchkey_auth::audit::Origin {
                    ip: crate::caller::client_ip(
                        req.extensions(),
                        req.headers(),
                        &state.settings.trusted_proxies,
                    ),
                    user_agent: req
                        .headers()
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    request_id: id.to_str().ok().map(str::to_owned),
                };
                let answer = span.in_scope(|| self.inner.call(req));
                Ok((origin, answer))
            }
        };
        Box::pin(async move {
            let mut res = match routed {
                Err(refused) => refused.into_response(),
                Ok((origin, answer)) => {
                    let answer = latchkey_auth::audit::ORIGIN
                        .scope(origin, answer.instrument(span.clone()))
                        .await;
                    match answer {
                        Ok(res) => res,
                        Err(never) => match never {},
                    }
                }
            };
            let elapsed = state.clock.monotonic().saturating_sub(start);
            let status = res.status().as_u16();
            span.in_scope(|| {
                tracing::info!(
                    status,
                    latency_ms = elapsed.as_secs_f64() * 1000.0,
                    "request"
                );
            });
            let headers = res.headers_mut();
            if !cors_listed {
                strip_cors(headers);
            }
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            headers.insert(REQUEST_ID, id);
            state
                .metrics
                .requests
                .get_or_create(&RouteLabels {
                    method,
                    route,
                    status,
                })
                .observe(elapsed.as_secs_f64());
            Ok(res)
        })
    }
}

/// What is refused before any route runs: TRACE (`405`), oversized
/// headers (`431`) and, outside the BFF, a declared body too large (`413`).
fn refusal(req: &Request, proxied: bool) -> Option<ApiError> {
    if req.method() == Method::TRACE {
        return Some(ApiError::MethodNotAllowed);
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some(ApiError::HeadersTooLarge);
    }
    let too_large = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES as u64);
    (!proxied && too_large).then_some(ApiError::PayloadTooLarge)
}

/// Keeps a well-formed client-sent id (so a proxy's id carries through),
/// otherwise makes one: 12 bytes from the thread's CSPRNG (seeded from
/// the OS once per thread, so no system call per request), as hex.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(REQUEST_ID)
        && !v.is_empty()
        && v.len() <= 64
        && v.as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return v.clone();
    }
    let mut raw = [0u8; 12];
    rand::rng().fill_bytes(&mut raw);
    let mut hex = [0u8; 24];
    for (pair, byte) in hex.chunks_exact_mut(2).zip(raw) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    HeaderValue::from_bytes(&hex).unwrap_or(HeaderValue::from_static("0"))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// tower-http's CORS layer adds `Access-Control-Allow-Credentials` and
/// friends to every response; latchkey sends no `Access-Control-*` header
/// at all unless the request's `Origin` is on the allow-list.
fn strip_cors(headers: &mut HeaderMap) {
    while let Some(name) = headers
        .keys()
        .find(|k| k.as_str().starts_with("access-control-"))
        .cloned()
    {
        headers.remove(name);
    }
}
