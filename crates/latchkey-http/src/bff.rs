//! The Backend-For-Frontend proxy: `/bff/{api}/{path…}` → the configured
//! upstream, with the browser's credential turned into a short-lived
//! `Authorization: Bearer` token for that API.
//!
//! **Invariant:** the upstream never sees latchkey's cookies (the session,
//! the hybrid's tokens), the browser's `Authorization`, `X-CSRF-Token`, or
//! any client-sent `X-Latchkey-*`/`X-Forwarded-*`/`Forwarded` header; it
//! sees latchkey's own values for those instead. Other cookies pass only
//! when the API is configured to, and the upstream's `Set-Cookie` reaches
//! the browser only when configured to.
//!
//! **Invariant:** unsafe methods need the CSRF token, exactly as on every
//! other cookie-authenticated route: the credential is taken with the same
//! extractor.
//!
//! Bodies stream both ways (nothing is buffered whole); a request body is
//! cut off at the API's limit (`413`). The upstream gets `timeout` to send
//! its response headers (`504`); a refused or reset connection is `502`.
//! WebSocket upgrades pass through with the same authentication.

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::bearer::Credential;
use crate::client::Client;
use crate::cookies;
use crate::error::ApiError;
use crate::state::{AppState, BffApi};

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

/// RFC 9110 §7.6.1 hop-by-hop fields (plus the old `Keep-Alive` and
/// `Proxy-Connection`), never forwarded in either direction.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// Request fields the client may not set for the upstream.
const CLIENT_MAY_NOT_SEND: [&str; 6] = [
    "authorization",
    "forwarded",
    "x-real-ip",
    "x-csrf-token",
    "host",
    "proxy-authenticate",
];

fn is_reserved(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("x-latchkey-") || n.starts_with("x-forwarded-")
}

/// Removes hop-by-hop fields, including those named in `Connection`.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::try_from(t.trim().to_ascii_lowercase()).ok())
        .collect();
    for n in named {
        h.remove(n);
    }
    for n in HOP_BY_HOP {
        h.remove(n);
    }
}

fn is_websocket(h: &HeaderMap) -> bool {
    h.get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The browser's cookies minus latchkey's own; `None` if nothing is left.
fn foreign_cookies(h: &HeaderMap, state: &AppState) -> Option<HeaderValue> {
    let s = &state.settings;
    let ours = [
        cookies::session_cookie_name(s),
        cookies::access_cookie_name(s),
        cookies::refresh_cookie_name(s),
    ];
    let kept: Vec<&str> = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            !pair.is_empty() && !ours.contains(&name)
        })
        .collect();
    (!kept.is_empty())
        .then(|| HeaderValue::from_str(&kept.join("; ")).ok())
        .flatten()
}

/// The upstream URI for the raw path after `/bff/{api}`, refusing dot
/// segments (they could climb out of the API's base path).
fn upstream_uri(api: &BffApi, rest: &str, query: Option<&str>) -> Result<Uri, ApiError> {
    let climbs = rest.split('/').any(|seg| {
        let decoded = seg.replace("%2e", ".").replace("%2E", ".");
        decoded == "." || decoded == ".."
    });
    if climbs || rest.contains('\\') {
        return Err(ApiError::BadRequest {
            code: "invalid_path",
            detail: "The path may not contain dot segments.".into(),
        });
    }
    let base = api.url.to_string();
    let base = base.trim_end_matches('/');
    let rest = rest.trim_start_matches('/');
    let uri = match query {
        Some(q) => format!("{base}/{rest}?{q}"),
        None => format!("{base}/{rest}"),
    };
    uri.parse().map_err(|_| ApiError::BadRequest {
        code: "invalid_path",
        detail: "The path is not a valid URI path.".into(),
    })
}

/// `ANY /bff/{api}/{path…}`.
pub async fn proxy(State(state): State<AppState>, req: Request) -> Response {
    match forward(&state, req).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn forward(state: &AppState, req: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let after = path.strip_prefix("/bff/").ok_or(ApiError::NotFound)?;
    let (name, rest) = after.split_once('/').unwrap_or((after, ""));
    let api = state
        .settings
        .bff_apis
        .iter()
        .find(|a| a.name == name)
        .ok_or(ApiError::NotFound)?
        .clone();
    // The same extractor as every cookie route: CSRF on unsafe methods.
    let credential = Credential::from_request_parts(&mut parts, state).await?;
    let client = Client::from_request_parts(&mut parts, state)
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
    let uri = upstream_uri(&api, rest, parts.uri.query())?;
    let (user, sid) = match &credential {
        Credential::Session(s) => (s.session.user_id, s.session.handle.to_string()),
        Credential::Bearer(b) | Credential::CookieJwt(b) => (b.user_id, b.claims.sid.clone()),
    };
    let (token, _) = state
        .tokens
        .session_token(user, &sid, &api.audience, state.clock.now())
        .map_err(|e| ApiError::Internal(format!("signing failed: {e}")))?;

    let websocket = is_websocket(&parts.headers);
    let client_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let mut headers = std::mem::take(&mut parts.headers);
    let cookies_out = api
        .forward_cookies
        .then(|| foreign_cookies(&headers, state))
        .flatten();
    let ws_headers = websocket.then(|| {
        (
            headers.get(header::UPGRADE).cloned(),
            headers.get(header::CONNECTION).cloned(),
        )
    });
    let original_host = headers.get(header::HOST).cloned();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::COOKIE);
    for n in CLIENT_MAY_NOT_SEND {
        headers.remove(n);
    }
    let reserved: Vec<HeaderName> = headers.keys().filter(|n| is_reserved(n)).cloned().collect();
    for n in reserved {
        headers.remove(n);
    }
    add_own_headers(&mut headers, &token, user, client.ip, original_host, state);
    if let Some(c) = cookies_out {
        headers.insert(header::COOKIE, c);
    }
    if let Some((Some(u), Some(c))) = ws_headers {
        headers.insert(header::UPGRADE, u);
        headers.insert(header::CONNECTION, c);
    }
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

    let sent = tokio::time::timeout(api.timeout, state.proxy.client.request(upstream)).await;
    let mut res = match sent {
        Err(_) => return Err(upstream_error(StatusCode::GATEWAY_TIMEOUT, &api)),
        Ok(Err(e)) if is_length_limit(&e) => return Err(ApiError::PayloadTooLarge),
        Ok(Err(e)) => {
            tracing::warn!(api = %api.name, error = %e, "upstream unreachable");
            return Err(upstream_error(StatusCode::BAD_GATEWAY, &api));
        }
        Ok(Ok(res)) => res,
    };

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

fn add_own_headers(
    h: &mut HeaderMap,
    token: &str,
    user: latchkey_core::UserId,
    ip: Option<IpAddr>,
    host: Option<HeaderValue>,
    state: &AppState,
) {
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        h.insert(header::AUTHORIZATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&user.to_string()) {
        h.insert("x-latchkey-user", v);
    }
    if let Some(v) = ip.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        h.insert("x-forwarded-for", v);
    }
    let proto = if state.settings.tokens.issuer.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    h.insert("x-forwarded-proto", HeaderValue::from_static(proto));
    if let Some(host) = host {
        h.insert("x-forwarded-host", host);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(url: &str) -> BffApi {
        BffApi {
            name: "orders".into(),
            url: url.parse().unwrap_or_default(),
            timeout: std::time::Duration::from_secs(1),
            audience: "orders".into(),
            max_body_bytes: 10,
            forward_cookies: false,
            pass_set_cookie: false,
        }
    }

    #[test]
    fn paths_and_queries_are_kept_and_dot_segments_refused() {
        let a = api("http://127.0.0.1:9000/base");
        let u = upstream_uri(&a, "items/42%20x", Some("q=1&r=%2F"));
        assert_eq!(
            u.map(|u| u.to_string()).ok().as_deref(),
            Some("http://127.0.0.1:9000/base/items/42%20x?q=1&r=%2F")
        );
        for bad in ["../admin", "a/../../b", "%2e%2e/x", "a/./b", "a\\b"] {
            assert!(upstream_uri(&a, bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn hop_by_hop_and_connection_named_fields_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert!(h.get("x-secret").is_none() && h.get("te").is_none());
        assert!(h.get(header::CONNECTION).is_none());
        assert!(h.get("x-kept").is_some());
    }
}
