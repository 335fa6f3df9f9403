//! Which request and response fields cross the proxy, and the ones
//! latchkey sets itself.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::cookies;
use crate::state::AppState;

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

/// Request fields the client may not set for the upstream: credentials
/// and latchkey's own, and every field some server or framework reads as
/// the client's address, the method or the URL in place of the real ones.
const CLIENT_MAY_NOT_SEND: [&str; 20] = [
    "authorization",
    "forwarded",
    "x-csrf-token",
    "host",
    "proxy-authenticate",
    "x-real-ip",
    "true-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
    "x-original-uri",
    "x-original-method",
    "x-original-host",
    "x-host",
];

fn is_reserved(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("x-latchkey-") || n.starts_with("x-forwarded-")
}

/// Removes hop-by-hop fields, including those named in `Connection`.
pub(super) fn strip_hop_by_hop(h: &mut HeaderMap) {
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

/// Removes what the client may not send upstream (see
/// [`CLIENT_MAY_NOT_SEND`], `X-Latchkey-*`, `X-Forwarded-*`).
pub(super) fn strip_client_sent(h: &mut HeaderMap) {
    for n in CLIENT_MAY_NOT_SEND {
        h.remove(n);
    }
    let reserved: Vec<HeaderName> = h.keys().filter(|n| is_reserved(n)).cloned().collect();
    for n in reserved {
        h.remove(n);
    }
}

pub(super) fn is_websocket(h: &HeaderMap) -> bool {
    h.get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The browser's cookies minus latchkey's own; `None` if nothing is left.
pub(super) fn foreign_cookies(h: &HeaderMap, state: &AppState) -> Option<HeaderValue> {
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

/// `Authorization`, `X-Latchkey-User` and the `X-Forwarded-*` fields, all
/// latchkey's: the client's address as latchkey determined it, and the
/// scheme and host of the configured issuer (never the client's `Host`).
pub(super) fn add_own_headers(
    h: &mut HeaderMap,
    token: &str,
    user: latchkey_core::UserId,
    ip: Option<IpAddr>,
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
    let issuer = state.settings.tokens.issuer.as_str();
    let (scheme, rest) = issuer.split_once("://").unwrap_or(("http", issuer));
    let proto = if scheme.eq_ignore_ascii_case("https") {
        "https"
    } else {
        "http"
    };
    h.insert("x-forwarded-proto", HeaderValue::from_static(proto));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some(v) = (!authority.is_empty())
        .then(|| HeaderValue::from_str(authority).ok())
        .flatten()
    {
        h.insert("x-forwarded-host", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn spoofable_fields_go() {
        let mut h = HeaderMap::new();
        for n in CLIENT_MAY_NOT_SEND {
            h.insert(n, HeaderValue::from_static("1"));
        }
        h.insert("x-forwarded-host", HeaderValue::from_static("evil"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_client_sent(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
    }
}
