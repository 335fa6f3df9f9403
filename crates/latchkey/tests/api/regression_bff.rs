//! Issue 9, items 7–10 and 15 (TRACE): the BFF's site check, CORS, path
//! normalisation and forwarding headers, end to end over loopback.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;
use futures_util::{SinkExt as _, StreamExt as _};
use latchkey_http::BffApi;
use reqwest::{Method, StatusCode};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::bff::Bff;
use crate::helpers::{Login, Reply, RequestExt as _, TestApp, assert_problem};

/// An origin on the same site as latchkey (a sibling subdomain): its
/// requests carry the `SameSite=Strict` cookie.
const SIBLING: &str = "http://sibling.localhost";
/// The SPA origin on the CORS allow-list.
const SPA: &str = "http://spa.localhost:5173";

/// A WebSocket upgrade to `path` with `login`'s cookie and these headers:
/// the status latchkey answered (`101` when the socket opened and echoed).
async fn upgrade(app: &TestApp, path: &str, login: &Login, headers: &[(&str, &str)]) -> u16 {
    let mut request = format!("ws://{}{path}", app.address)
        .into_client_request()
        .unwrap();
    let cookie = format!("{}={}", login.cookie_name, login.cookie);
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    for (name, value) in headers {
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut ws, _)) => {
            ws.send(Message::text("ping")).await.unwrap();
            let echoed = tokio::time::timeout(Duration::from_secs(15), ws.next())
                .await
                .expect("an echo")
                .unwrap()
                .unwrap();
            assert_eq!(echoed, Message::text("ping"));
            101
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => res.status().as_u16(),
        Err(other) => panic!("expected an HTTP answer, got {other}"),
    }
}

#[tokio::test]
async fn i9_07_bff_websocket_upgrade_refuses_cross_site_origin() {
    let bff = Bff::spawn_with(|cfg| cfg.http.cors_allowed_origins = vec![SPA.into()]).await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    for headers in [
        vec![("origin", SIBLING)],
        vec![("origin", SIBLING), ("sec-fetch-site", "same-site")],
        vec![
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let status = upgrade(app, "/bff/orders/ws", &alice, &headers).await;
        assert_eq!(status, 403, "{headers:?}");
    }
    // latchkey's own pages, and the listed SPA, still get their socket.
    let own = app.base.clone();
    for headers in [
        vec![],
        vec![("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
        vec![("origin", SPA), ("sec-fetch-site", "same-site")],
    ] {
        let status = upgrade(app, "/bff/orders/ws", &alice, &headers).await;
        assert_eq!(status, 101, "{headers:?}");
    }
}

#[tokio::test]
async fn i9_07_every_bff_method_passes_the_site_check() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
        for (origin, site) in [
            (SIBLING, "same-site"),
            ("https://evil.example", "cross-site"),
        ] {
            let rb = app.request(method.clone(), "/bff/rec/r").cookie_of(&alice);
            let r = app.send(rb.header("origin", origin)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} from {origin}");
            let rb = app.request(method.clone(), "/bff/rec/r").cookie_of(&alice);
            let r = app.send(rb.header("sec-fetch-site", site)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {site}");
        }
    }
    let r = app
        .send(
            app.get("/bff/rec/r")
                .cookie_of(&alice)
                .header("origin", SIBLING),
        )
        .await;
    assert_problem(&r, 403, "csrf_failed");
    assert!(bff.recorder.seen().is_empty(), "{:?}", bff.recorder.seen());
}

// ---------------------------------------------------------------- CORS

/// An upstream with the worst CORS policy: it reflects any `Origin` (or
/// answers `*`) with credentials allowed, and exposes a private header.
async fn reflecting_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|req: Request| async move {
        let origin = req
            .headers()
            .get("origin")
            .cloned()
            .unwrap_or(HeaderValue::from_static("*"));
        Response::builder()
            .header("access-control-allow-origin", origin)
            .header("access-control-allow-credentials", "true")
            .header("access-control-allow-methods", "*")
            .header("access-control-allow-headers", "*")
            .header("access-control-expose-headers", "x-upstream-secret")
            .header("access-control-allow-private-network", "true")
            .header("access-control-max-age", "86400")
            .header("x-upstream-secret", "42")
            .body(axum::body::Body::from("reflected"))
            .unwrap()
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn cors_bff() -> Bff {
    let upstream = format!("http://{}", reflecting_upstream().await);
    Bff::spawn_with(move |cfg| {
        cfg.http.cors_allowed_origins = vec![SPA.into()];
        cfg.http.bff_apis.push(BffApi {
            name: "reflect".into(),
            url: upstream.parse().unwrap(),
            timeout: Duration::from_secs(10),
            audience: "reflect-api".into(),
            max_body_bytes: 1024,
            forward_cookies: false,
            pass_set_cookie: false,
            groups_claim: false,
        });
    })
    .await
}

fn cors_headers(r: &Reply) -> Vec<(String, String)> {
    r.headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("access-control-"))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn i9_08_upstream_cors_headers_never_reach_the_browser() {
    let bff = cors_bff().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let own = app.base.clone();
    for origin in [None, Some(own.as_str())] {
        let mut rb = app.get("/bff/reflect/data").cookie_of(&alice);
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        let r = app.send(rb).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body, "reflected");
        assert_eq!(cors_headers(&r), Vec::new(), "{origin:?}");
    }
    // A listed origin gets latchkey's own answer, not the upstream's.
    let r = app
        .send(
            app.get("/bff/reflect/data")
                .cookie_of(&alice)
                .header("origin", SPA),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let exposed = r
        .header("access-control-expose-headers")
        .unwrap_or_default();
    assert!(!exposed.contains("x-upstream-secret"), "{exposed}");
    for gone in [
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-allow-private-network",
        "access-control-max-age",
    ] {
        assert!(r.header(gone).is_none(), "{gone}: {:?}", r.headers);
    }
    let vary = r.header("vary").unwrap_or_default().to_ascii_lowercase();
    assert!(vary.contains("origin"), "{vary}");
}

#[tokio::test]
async fn i9_08_bff_preflights_follow_latchkeys_allow_list() {
    let bff = cors_bff().await;
    let app = &bff.app;
    let preflight = |origin: &str| {
        app.request(Method::OPTIONS, "/bff/rec/items")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-csrf-token",
            )
    };
    let r = app.send(preflight(SPA)).await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let methods = r.header("access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    let allowed = r.header("access-control-allow-headers").unwrap_or_default();
    assert!(
        allowed.to_ascii_lowercase().contains("x-csrf-token"),
        "{allowed}"
    );
    let r = app.send(preflight(SIBLING)).await;
    assert!(!r.status.is_success(), "{}", r.status);
    assert_eq!(cors_headers(&r), Vec::new());
    assert!(
        bff.recorder.seen().is_empty(),
        "preflights stay with latchkey"
    );
}

// ---------------------------------------------------------------- paths

/// One raw request line (what `reqwest` would normalise), with a cookie.
async fn raw_get(
    app: &TestApp,
    path: &str,
    login: &Login,
    extra: &str,
) -> crate::helpers::RawReply {
    let mut conn = app.raw().await;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {}={}\r\n{extra}Connection: close\r\n\r\n",
        app.address, login.cookie_name, login.cookie
    );
    conn.write(request.as_bytes()).await.unwrap();
    conn.read_response().await
}

#[tokio::test]
async fn i9_09_encoded_separators_parameters_and_double_encoding_are_refused() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    for path in [
        "/bff/rec/..;/admin",
        "/bff/rec/a/..;/b",
        "/bff/rec/..;x=1/admin",
        "/bff/rec/a;jsessionid=1/b",
        "/bff/rec/..%2Fadmin",
        "/bff/rec/..%2fadmin",
        "/bff/rec/a%2Fb",
        "/bff/rec/..%5Cadmin",
        "/bff/rec/a%5cb",
        "/bff/rec/%2e%2e%2fadmin",
        "/bff/rec/%252e%252e/admin",
        "/bff/rec/%252E%252E%252Fadmin",
        "/bff/rec/..%252fadmin",
        "/bff/rec/a%00b",
        "/bff/rec/..%00/admin",
        "/bff/rec/%3B/x",
        "/bff/based/..;/whoami",
        "/bff/based/..%2Fwhoami",
    ] {
        let r = raw_get(app, path, &alice, "").await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_problem(&r.to_reply(), 400, "invalid_path");
    }
    assert!(bff.recorder.seen().is_empty(), "{:?}", bff.recorder.seen());
    // What stays fine: encoded text, dots inside names, a trailing slash.
    let r = raw_get(
        app,
        "/bff/rec/a%20b/%C3%A9/x+y/a..b/.well-known/100%25/",
        &alice,
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let uris: Vec<String> = bff.recorder.seen().into_iter().map(|s| s.uri).collect();
    assert_eq!(uris, ["/a%20b/%C3%A9/x+y/a..b/.well-known/100%25/"]);
    // Under a base path, the forwarded path stays under it.
    let r = raw_get(app, "/bff/based/x/y", &alice, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let echo: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(echo["path"], "/echo/x/y");
}

// ---------------------------------------------------------------- headers

#[tokio::test]
async fn i9_10_spoofable_forwarding_headers_are_stripped_and_host_comes_from_the_issuer() {
    let bff = Bff::spawn_with(|cfg| {
        cfg.http.tokens.issuer = "https://auth.example.com/".into();
    })
    .await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let spoofed = [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-original-url",
        "x-rewrite-url",
        "x-original-uri",
        "x-original-method",
        "x-original-host",
        "true-client-ip",
        "x-client-ip",
        "x-real-ip",
        "x-cluster-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
    ];
    let extra: String = spoofed.iter().map(|h| format!("{h}: DELETE\r\n")).collect();
    // The client's Host names another site: it is not what the upstream
    // is told latchkey was reached as.
    let mut conn = app.raw().await;
    let request = format!(
        "GET /bff/rec/h HTTP/1.1\r\nHost: evil.example\r\nCookie: {}={}\r\n{extra}\
         Connection: close\r\n\r\n",
        alice.cookie_name, alice.cookie
    );
    conn.write(request.as_bytes()).await.unwrap();
    let r = conn.read_response().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = bff.recorder.seen();
    let headers = &seen[0].headers;
    for name in spoofed {
        assert!(headers.get(name).is_none(), "{name} reached the upstream");
    }
    assert_eq!(headers["x-forwarded-host"], "auth.example.com");
    assert_eq!(headers["x-forwarded-proto"], "https");
    assert_eq!(seen[0].method, "GET");
}

// ---------------------------------------------------------------- TRACE

#[tokio::test]
async fn i9_15_trace_is_refused_on_every_route() {
    let bff = Bff::spawn_with(crate::forward_auth::behind_proxy).await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    for path in [
        "/bff/rec/x",
        "/bff/rec",
        "/v1/me",
        "/v1/verify",
        "/nope",
        "/healthz",
    ] {
        let r = app
            .send(app.request(Method::TRACE, path).authed(&alice))
            .await;
        assert_problem(&r, 405, "method_not_allowed");
    }
    assert!(bff.recorder.seen().is_empty(), "{:?}", bff.recorder.seen());
    for header in ["x-forwarded-method", "x-original-method"] {
        let r = app
            .send(
                app.get("/v1/verify")
                    .cookie_of(&alice)
                    .header(header, "TRACE"),
            )
            .await;
        assert_problem(&r, 405, "method_not_allowed");
        assert!(r.header("authorization").is_none());
    }
}
