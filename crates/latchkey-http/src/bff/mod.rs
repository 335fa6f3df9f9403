//! The Backend-For-Frontend proxy: `/bff/{api}/{path…}` → the configured
//! upstream, with the browser's credential turned into a short-lived
//! `Authorization: Bearer` token for that API.
//!
//! **Invariant:** the upstream never sees latchkey's cookies (the session,
//! the hybrid's tokens), the browser's `Authorization`, `X-CSRF-Token`, any
//! client-sent `X-Latchkey-*`/`X-Forwarded-*`/`Forwarded` header, or the
//! fields some servers read as the method, URL or client address
//! (`X-HTTP-Method-Override`, `X-Original-URL`, `X-Real-IP`, …: see
//! `headers.rs`); it sees latchkey's own values instead, the forwarded host
//! and scheme being the configured issuer's. Other cookies pass only when
//! the API is configured to, and the upstream's `Set-Cookie` reaches the
//! browser only when configured to; its `Access-Control-*` never does
//! (`cors.rs`).
//!
//! **Invariant:** every request, whatever its method and WebSocket
//! upgrades included, passes the `Origin`/`Sec-Fetch-Site` check before
//! anything else; unsafe methods also need the CSRF token, exactly as on
//! every other cookie-authenticated route (the credential is taken with the
//! same extractor). A bearer token is accepted only if it is first-party:
//! a token latchkey minted for an upstream is never a credential here.
//!
//! Bodies stream both ways (nothing is buffered whole); a request body is
//! cut off at the API's limit (`413`). The upstream gets `timeout` to send
//! its response headers (`504`); a refused or reset connection is `502`.
//! WebSocket upgrades pass through with the same authentication.

pub(crate) mod cors;
mod headers;
mod path;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use headers::{
    add_own_headers, foreign_cookies, is_websocket, strip_client_sent, strip_hop_by_hop,
};
use path::upstream_uri;

use crate::bearer::Credential;
use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::{AppState, BffApi};
use latchkey_auth::Subject;

/// The pooled HTTP client shared by all proxied requests.
#[derive(Clone)]
pub struct Proxy {
    client: HttpClient<HttpConnector, Body>,
}

impl Default for Proxy {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
        let client = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build(connector);
        Self { client }
    }
}

/// `ANY /bff/{api}/{path…}`.
pub async fn proxy(State(state): State<AppState>, req: Request) -> Response {
    let origin = cors::listed_origin(req.headers(), &state);
    if let Some(answer) = cors::preflight(&req, origin.as_ref()) {
        return answer;
    }
    let mut res = match forward(&state, req).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    };
    cors::apply(&mut res, origin);
    res
}

async fn forward(state: &AppState, req: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    // A sibling origin's requests carry the `SameSite` cookie too: none of
    // them, not even a GET or a WebSocket upgrade, may use it.
    crate::auth::refuse_cross_site(&parts.headers, state)?;
    let (api, rest) = api_of(state, parts.uri.path())?;
    // The same extractor as every cookie route: CSRF on unsafe methods.
    let credential = Credential::from_request_parts(&mut parts, state).await?;
    let client = Caller::from_request_parts(&mut parts, state)
        .await
        .unwrap_or_else(|never| match never {});
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > api.max_body_bytes) {
        return Err(ApiError::PayloadTooLarge);
    }
    let uri = upstream_uri(&api, &rest, parts.uri.query())?;
    let user = credential.user_id();
    let token = upstream_token(state, &api, &credential).await?;

    let websocket = is_websocket(&parts.headers);
    let client_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let headers = std::mem::take(&mut parts.headers);
    let headers = upstream_headers(headers, &api, &token, user, client.ip, state);
    let limited = http_body_util::Limited::new(
        body,
        usize::try_from(api.max_body_bytes).unwrap_or(usize::MAX),
    );
    let mut upstream = hyper::Request::builder()
        .method(parts.method.clone())
        .uri(uri)
        .version(hyper::Version::HTTP_11)
        .body(Body::new(limited))
        .map_err(|e| ApiError::Internal(format!("upstream request: {e}")))?;
    *upstream.headers_mut() = headers;

    let mut res = send(state, &api, upstream).await?;
    if res.status() == StatusCode::SWITCHING_PROTOCOLS && websocket {
        return Ok(splice_websocket(&mut res, client_upgrade));
    }
    let (mut rparts, rbody) = res.into_parts();
    strip_hop_by_hop(&mut rparts.headers);
    if !api.pass_set_cookie {
        rparts.headers.remove(header::SET_COOKIE);
    }
    Ok(Response::from_parts(rparts, Body::new(rbody)))
}

/// The token for `api`'s audience (with the user's groups when the API
/// asked for them), cached per session.
async fn upstream_token(
    state: &AppState,
    api: &BffApi,
    credential: &Credential,
) -> Result<String, ApiError> {
    let user = credential.user_id();
    let assurance = credential.assurance();
    let groups = if api.groups_claim {
        state.store().groups_of(user).await?
    } else {
        Vec::new()
    };
    mint_for(state, credential, &assurance, &groups, &api.audience)
}

/// A short-lived token of `credential`'s login for `audience` (an API
/// behind the BFF, or forward auth's upstreams), carrying `groups`.
pub(crate) fn mint_for(
    state: &AppState,
    credential: &Credential,
    assurance: &latchkey_core::Assurance,
    groups: &[String],
    audience: &str,
) -> Result<String, ApiError> {
    let subject = Subject {
        user: credential.user_id(),
        sid: credential.sid(),
        assurance,
        groups,
    };
    let (token, _) = state
        .tokens
        .session_token(subject, audience, state.clock.now())
        .map_err(|e| ApiError::Internal(format!("signing failed: {e}")))?;
    Ok(token)
}

/// The configured API named by `/bff/{api}/…`, and the rest of the path.
fn api_of(state: &AppState, path: &str) -> Result<(BffApi, String), ApiError> {
    let after = path.strip_prefix("/bff/").ok_or(ApiError::NotFound)?;
    let (name, rest) = after.split_once('/').unwrap_or((after, ""));
    let api = state
        .settings
        .bff_apis
        .iter()
        .find(|a| a.name == name)
        .ok_or(ApiError::NotFound)?
        .clone();
    Ok((api, rest.to_owned()))
}

/// What the upstream receives: the client's headers without hop-by-hop
/// fields, latchkey's cookies or anything a client could spoof, plus our
/// token and identity (and, for a WebSocket, the upgrade it asked for).
fn upstream_headers(
    mut headers: axum::http::HeaderMap,
    api: &BffApi,
    token: &str,
    user: latchkey_core::UserId,
    ip: Option<std::net::IpAddr>,
    state: &AppState,
) -> axum::http::HeaderMap {
    let cookies_out = api
        .forward_cookies
        .then(|| foreign_cookies(&headers, state))
        .flatten();
    let ws_headers = is_websocket(&headers).then(|| {
        (
            headers.get(header::UPGRADE).cloned(),
            headers.get(header::CONNECTION).cloned(),
        )
    });
    strip_hop_by_hop(&mut headers);
    headers.remove(header::COOKIE);
    strip_client_sent(&mut headers);
    add_own_headers(&mut headers, token, user, ip, state);
    if let Some(c) = cookies_out {
        headers.insert(header::COOKIE, c);
    }
    if let Some((Some(u), Some(c))) = ws_headers {
        headers.insert(header::UPGRADE, u);
        headers.insert(header::CONNECTION, c);
    }
    headers
}

/// Sends `upstream` within the API's timeout: `504` when it passes, `413`
/// when the body outgrows the limit on the way, `502` when unreachable.
async fn send(
    state: &AppState,
    api: &BffApi,
    upstream: hyper::Request<Body>,
) -> Result<hyper::Response<hyper::body::Incoming>, ApiError> {
    let sent = tokio::time::timeout(api.timeout, state.proxy.client.request(upstream)).await;
    match sent {
        Err(_) => Err(upstream_error(StatusCode::GATEWAY_TIMEOUT, api)),
        Ok(Err(e)) if is_length_limit(&e) => Err(ApiError::PayloadTooLarge),
        Ok(Err(e)) => {
            tracing::warn!(api = %api.name, error = %e, "upstream unreachable");
            Err(upstream_error(StatusCode::BAD_GATEWAY, api))
        }
        Ok(Ok(res)) => Ok(res),
    }
}

fn upstream_error(status: StatusCode, api: &BffApi) -> ApiError {
    if status == StatusCode::GATEWAY_TIMEOUT {
        ApiError::UpstreamTimeout(api.name.clone())
    } else {
        ApiError::UpstreamUnavailable(api.name.clone())
    }
}

fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Answers `101` to the browser and splices the two upgraded connections.
fn splice_websocket(
    upstream: &mut hyper::Response<hyper::body::Incoming>,
    client: Option<hyper::upgrade::OnUpgrade>,
) -> Response {
    let upstream_upgrade = hyper::upgrade::on(&mut *upstream);
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    for name in [
        header::UPGRADE,
        header::CONNECTION,
        header::SEC_WEBSOCKET_ACCEPT,
        header::SEC_WEBSOCKET_PROTOCOL,
        header::SEC_WEBSOCKET_EXTENSIONS,
    ] {
        if let Some(v) = upstream.headers().get(&name) {
            res.headers_mut().insert(name, v.clone());
        }
    }
    let Some(client) = client else {
        return ApiError::BadRequest {
            code: "upgrade_unavailable",
            detail: "This connection cannot be upgraded.".into(),
        }
        .into_response();
    };
    tokio::spawn(async move {
        let (Ok(down), Ok(up)) = (client.await, upstream_upgrade.await) else {
            tracing::debug!("websocket upgrade failed on one side");
            return;
        };
        let mut down = TokioIo::new(down);
        let mut up = TokioIo::new(up);
        if let Err(e) = tokio::io::copy_bidirectional(&mut down, &mut up).await {
            tracing::debug!(error = %e, "websocket splice ended");
        }
    });
    res
}
