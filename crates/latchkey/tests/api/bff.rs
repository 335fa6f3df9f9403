//! The Backend-For-Frontend proxy (BFF.md), end to end over loopback: a
//! real latchkey, the example API (verifying the minted tokens against
//! latchkey's JWKS, on the same manual clock) and a recording upstream
//! that shows exactly what arrived and when.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::{IntoResponse as _, Response};
use futures_util::{SinkExt as _, StreamExt as _, stream};
use latchkey::Config;
use latchkey_core::Clock as _;
use latchkey_http::BffApi;
use latchkey_verify::{LatchkeyVerifier, VerifierConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::helpers::{
    Login, MINUTE, PASSWORD, RequestExt as _, TestApp, assert_problem, jwt_claims, problem,
};

/// The audience the example API accepts (and every API in front of it is
/// configured with).
pub const AUDIENCE: &str = "orders-api";
const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
const UNSAFE: [Method; 4] = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// What the recording upstream saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: axum::http::HeaderMap,
}

/// An upstream that records every request and has a few routes the example
/// API lacks: `/progress` (counts body bytes as they arrive), `/held` (sends
/// a first chunk, then waits for [`Recorder::release`]) and `/hop` (answers
/// with hop-by-hop fields). Everything else: `200 {"ok":true}`.
#[derive(Clone, Default)]
pub struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    received: Arc<AtomicU64>,
    release: Arc<Notify>,
}

impl Recorder {
    async fn spawn(self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(move |req: Request| {
            let rec = self.clone();
            async move { rec.handle(req).await }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    async fn handle(self, req: Request) -> Response {
        let (parts, body) = req.into_parts();
        self.seen.lock().unwrap().push(Seen {
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            headers: parts.headers.clone(),
        });
        match parts.uri.path() {
            "/progress" => {
                let mut data = body.into_data_stream();
                let mut n = 0u64;
                while let Some(Ok(chunk)) = data.next().await {
                    n += chunk.len() as u64;
                    self.received
                        .fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
                axum::Json(json!({ "bytes": n })).into_response()
            }
            "/held" => {
                let release = self.release.clone();
                let first =
                    stream::once(async { Ok::<_, Infallible>(Bytes::from_static(b"first")) });
                let second = stream::once(async move {
                    release.notified().await;
                    Ok::<_, Infallible>(Bytes::from_static(b"second"))
                });
                Response::new(Body::from_stream(first.chain(second)))
            }
            "/hop" => Response::builder()
                .header("connection", "x-resp-hop")
                .header("x-resp-hop", "1")
                .header("keep-alive", "timeout=5")
                .header("proxy-connection", "keep-alive")
                .header("x-kept", "1")
                .body(Body::from("hop"))
                .unwrap(),
            _ => axum::Json(json!({ "ok": true })).into_response(),
        }
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Body bytes `/progress` has received so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    /// Lets `/held` send its second chunk.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

/// An address where nothing listens.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// An upstream that accepts connections and closes them without a word.
async fn hang_up_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    addr
}

fn api(name: &str, url: String) -> BffApi {
    BffApi {
        name: name.into(),
        url: url.parse().unwrap(),
        timeout: Duration::from_secs(10),
        audience: AUDIENCE.into(),
        max_body_bytes: 10 * MIB as u64,
        forward_cookies: false,
        pass_set_cookie: false,
        groups_claim: false,
    }
}

/// latchkey with these APIs behind `/bff/`:
///
/// | api | upstream | differs from the defaults |
/// | --- | --- | --- |
/// | `orders` | example API | — |
/// | `based` | example API at base path `/echo` | — |
/// | `hasty` | example API | `timeout_ms = 300` |
/// | `small` | example API | `max_body_bytes = 64 KiB` |
/// | `big` | example API | `max_body_bytes = 128 MiB`, 5 min timeout |
/// | `cookies` | example API | `forward_cookies`, `pass_set_cookie` |
/// | `rec` | the recorder | — |
/// | `other` | the recorder | audience `other-api` |
/// | `down` | a closed port | — |
/// | `hangup` | closes every connection | — |
pub struct Bff {
    pub app: TestApp,
    pub example: SocketAddr,
    pub recorder: Recorder,
}

impl Bff {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl Fn(&mut Config) + Send + Sync + 'static) -> Self {
        // The example API's port is needed in latchkey's configuration, and
        // latchkey's address in the example's verifier: bind first, serve
        // once latchkey is up (the verifier fetches keys lazily anyway).
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let example = listener.local_addr().unwrap();
        let recorder = Recorder::default();
        let rec = format!("http://{}", recorder.clone().spawn().await);
        let ex = format!("http://{example}");
        let apis = vec![
            api("orders", ex.clone()),
            api("based", format!("{ex}/echo")),
            BffApi {
                timeout: Duration::from_millis(300),
                ..api("hasty", ex.clone())
            },
            BffApi {
                max_body_bytes: 64 * KIB as u64,
                ..api("small", ex.clone())
            },
            BffApi {
                max_body_bytes: 128 * MIB as u64,
                timeout: 5 * MINUTE,
                ..api("big", ex.clone())
            },
            BffApi {
                forward_cookies: true,
                pass_set_cookie: true,
                ..api("cookies", ex.clone())
            },
            api("rec", rec.clone()),
            BffApi {
                audience: "other-api".into(),
                ..api("other", rec)
            },
            api("down", format!("http://{}", closed_port().await)),
            api("hangup", format!("http://{}", hang_up_upstream().await)),
        ];
        let app = TestApp::spawn_with(move |cfg| {
            cfg.http.bff_apis = apis.clone();
            tweak(cfg);
        })
        .await;
        let clock = app.clock.clone();
        let config = VerifierConfig::new(
            app.state.tokens.settings().issuer.clone(),
            AUDIENCE,
            app.url("/.well-known/jwks.json"),
        );
        let verifier =
            LatchkeyVerifier::with_clock(config, Arc::new(move || clock.now().unix_seconds()))
                .unwrap();
        tokio::spawn(latchkey_example_api::serve(listener, verifier));
        Self {
            app,
            example,
            recorder,
        }
    }

    /// `/echo` through `api` with `login`'s cookie (and CSRF token for
    /// unsafe methods): what the example API saw.
    async fn echo(&self, login: &Login, method: Method, path: &str) -> Value {
        let r = self
            .app
            .send(self.app.request(method, path).authed(login))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        r.json()
    }
}

/// The values the upstream saw for header `name` (the example's `/echo`).
fn seen_header<'a>(echo: &'a Value, name: &str) -> Vec<&'a str> {
    echo["headers"][name]
        .as_array()
        .map(|vs| vs.iter().map(|v| v.as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn bearer_of(echo: &Value) -> String {
    let auth = seen_header(echo, "authorization");
    assert_eq!(auth.len(), 1, "one Authorization: {echo}");
    auth[0]
        .strip_prefix("Bearer ")
        .expect("a bearer token")
        .to_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One raw HTTP/1.1 request (for what `reqwest` would normalise or refuse
/// to send): its response.
async fn raw_request(app: &TestApp, head: &str) -> crate::helpers::RawReply {
    let mut conn = app.raw().await;
    let request = format!(
        "{head}\r\nHost: {}\r\nConnection: close\r\n\r\n",
        app.address
    );
    conn.write(request.as_bytes()).await.unwrap();
    conn.read_response().await
}

/// The session id (`sid` of tokens minted for it) as `/v1/session` shows it.
async fn session_id(app: &TestApp, login: &Login) -> String {
    let r = app.send(app.get("/v1/session").cookie_of(login)).await;
    r.json()["session"]["id"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------- identity

#[tokio::test]
async fn the_upstream_gets_a_bearer_token_for_its_audience_and_the_user() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let r = app
        .send(app.get("/bff/orders/whoami").cookie_of(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The example API verified it: signature, iss, aud, exp, typ.
    let claims = r.json();
    assert_eq!(claims["sub"], alice.user_id.as_str());
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(
        claims["iss"],
        app.state.tokens.settings().issuer.as_str(),
        "{claims}"
    );
    assert_eq!(claims["sid"], session_id(app, &alice).await.as_str());
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(iat, app.clock.now().unix_seconds());
    assert_eq!(exp - iat, 300, "5 minutes");

    let echo = bff.echo(&alice, Method::GET, "/bff/orders/echo/me").await;
    assert_eq!(
        seen_header(&echo, "x-latchkey-user"),
        [alice.user_id.as_str()]
    );
    assert_eq!(echo["sub"], alice.user_id.as_str());
    let token = bearer_of(&echo);
    assert_eq!(jwt_claims(&token)["aud"], AUDIENCE);
    // Another API's token carries that API's audience.
    let r = app
        .send(app.get("/bff/other/anything").cookie_of(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let seen = bff.recorder.seen();
    let auth = seen[0].headers["authorization"].to_str().unwrap();
    let other = auth.strip_prefix("Bearer ").unwrap();
    assert_eq!(jwt_claims(other)["aud"], "other-api");
    assert_eq!(jwt_claims(other)["sub"], alice.user_id.as_str());
    assert_ne!(other, token);
}

#[tokio::test]
async fn a_client_bearer_token_is_replaced_by_one_minted_for_the_api() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let pair = app.token_user("alice").await;
    let r = app
        .send(app.get("/bff/orders/echo/b").bearer(&pair.access))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let echo = r.json();
    let token = bearer_of(&echo);
    assert_ne!(token, pair.access, "the client's own token never goes on");
    let (mine, minted) = (jwt_claims(&pair.access), jwt_claims(&token));
    assert_eq!(minted["aud"], AUDIENCE);
    assert_eq!(minted["sub"], mine["sub"]);
    assert_eq!(minted["sid"], mine["sid"]);
    // A bearer request needs no CSRF token, unsafe method or not.
    let r = app
        .send(app.post("/bff/rec/write").bearer(&pair.access))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(bff.recorder.seen().len(), 1);
}

#[tokio::test]
async fn the_minted_token_is_reused_then_renewed_before_it_expires() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let token = |echo: Value| bearer_of(&echo);
    let first = token(bff.echo(&alice, Method::GET, "/bff/orders/echo/1").await);
    let second = token(bff.echo(&alice, Method::POST, "/bff/orders/echo/2").await);
    assert_eq!(first, second, "one signature serves many requests");
    // Another session of the same user gets its own token.
    let laptop = app.login("alice", PASSWORD, false).await;
    let theirs = token(bff.echo(&laptop, Method::GET, "/bff/orders/echo/3").await);
    assert_ne!(theirs, first);
    assert_ne!(jwt_claims(&theirs)["sid"], jwt_claims(&first)["sid"]);
    // Still reused with more than a fifth of its life left (> 60 s of 300) …
    app.advance(Duration::from_secs(239));
    let later = token(bff.echo(&alice, Method::GET, "/bff/orders/echo/4").await);
    assert_eq!(later, first);
    // … and renewed once less is left, before the upstream would refuse it.
    app.advance(Duration::from_secs(2));
    let renewed = token(bff.echo(&alice, Method::GET, "/bff/orders/echo/5").await);
    assert_ne!(renewed, first);
    let claims = jwt_claims(&renewed);
    assert_eq!(claims["iat"].as_i64(), Some(app.clock.now().unix_seconds()));
    assert_eq!(claims["sid"], jwt_claims(&first)["sid"]);
    let again = token(bff.echo(&alice, Method::GET, "/bff/orders/echo/6").await);
    assert_eq!(again, renewed);
}

// ---------------------------------------------------------------- paths

#[tokio::test]
async fn paths_and_queries_pass_as_sent_with_their_percent_encoding() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let echo = bff
        .echo(
            &alice,
            Method::GET,
            "/bff/orders/echo/a%20b/%C3%A9/x+y?q=1&r=%2F&s=a+b&t=%26&empty=",
        )
        .await;
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/echo/a%20b/%C3%A9/x+y");
    assert_eq!(echo["query"], "q=1&r=%2F&s=a+b&t=%26&empty=");
    let echo = bff
        .echo(&alice, Method::PATCH, "/bff/orders/echo/items/7")
        .await;
    assert_eq!(
        (echo["method"].as_str(), echo["path"].as_str()),
        (Some("PATCH"), Some("/echo/items/7"))
    );
    assert_eq!(echo["query"], Value::Null);
    // Under a base path.
    let echo = bff.echo(&alice, Method::GET, "/bff/based/x/y?z=1").await;
    assert_eq!(echo["path"], "/echo/x/y");
    assert_eq!(echo["query"], "z=1");
    // The API's root; a trailing slash is kept.
    let r = app.send(app.get("/bff/rec").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.send(app.get("/bff/rec/dir/").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let uris: Vec<String> = bff.recorder.seen().into_iter().map(|s| s.uri).collect();
    assert_eq!(uris, ["/", "/dir/"]);
}

/// BUG: `/bff/{api}/` (the API's root, with the slash) is latchkey's own
/// `404`: the router has `/bff/{api}` and `/bff/{api}/{*path}`, and the
/// catch-all does not match an empty rest.
#[tokio::test]
async fn the_apis_root_with_a_trailing_slash_is_proxied() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let r = app.send(app.get("/bff/rec/").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let uris: Vec<String> = bff.recorder.seen().into_iter().map(|s| s.uri).collect();
    assert_eq!(uris, ["/"]);
}

#[tokio::test]
async fn dot_segments_are_refused_and_nothing_is_sent() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let cookie = format!("Cookie: {}={}", alice.cookie_name, alice.cookie);
    for path in [
        "/bff/rec/a/../b",
        "/bff/rec/../x",
        "/bff/rec/..",
        "/bff/rec/%2e%2e/x",
        "/bff/rec/a/%2E%2e/b",
        "/bff/rec/.%2e/x",
        "/bff/rec/%2E./x",
        "/bff/rec/a/./b",
        "/bff/rec/%2e/x",
        "/bff/based/../whoami",
    ] {
        let r = raw_request(app, &format!("GET {path} HTTP/1.1\r\n{cookie}")).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_problem(&r.to_reply(), 400, "invalid_path");
    }
    assert!(bff.recorder.seen().is_empty(), "{:?}", bff.recorder.seen());
    // A name that merely contains dots is a name.
    let r = raw_request(
        app,
        &format!("GET /bff/rec/a..b/.well-known/x... HTTP/1.1\r\n{cookie}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(bff.recorder.seen()[0].uri, "/a..b/.well-known/x...");
}

#[tokio::test]
async fn an_unknown_api_is_404_and_no_credential_is_401() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    for path in ["/bff/nope/x", "/bff/nope", "/bff/ORDERS/whoami"] {
        let r = app.send(app.get(path).cookie_of(&alice)).await;
        assert_problem(&r, 404, "not_found");
    }
    let r = app.send(app.get("/bff/rec/x")).await;
    assert_problem(&r, 401, "unauthenticated");
    assert!(r.header("www-authenticate").is_some(), "{:?}", r.headers);
    let r = app
        .send(
            app.get("/bff/rec/x")
                .raw_cookie(alice.cookie_name, "forged"),
        )
        .await;
    assert_problem(&r, 401, "unauthenticated");
    let r = app.send(app.post("/bff/rec/x").bearer("not.a.token")).await;
    assert_problem(&r, 401, "invalid_token");
    assert!(bff.recorder.seen().is_empty());
}

// ---------------------------------------------------------------- headers

#[tokio::test]
async fn latchkeys_cookies_never_reach_the_upstream_nor_by_default_any_other() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let cookie = format!(
        "theme=dark; {}={}; __Host-lk_at=x.y.z; __Secure-lk_rt=r; lang=en",
        alice.cookie_name, alice.cookie
    );
    for method in [Method::GET, Method::POST] {
        let r = app
            .send(
                app.request(method.clone(), "/bff/orders/echo/c")
                    .header("cookie", &cookie)
                    .csrf_of(&alice),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{method}: {}", r.body);
        assert!(
            seen_header(&r.json(), "cookie").is_empty(),
            "{method}: {}",
            r.body
        );
    }
    // With `forward_cookies`, the others pass; latchkey's still do not.
    let r = app
        .send(app.get("/bff/cookies/echo/c").header("cookie", &cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(seen_header(&r.json(), "cookie"), ["theme=dark; lang=en"]);
    // Nothing but latchkey's: no Cookie header at all.
    let r = app
        .send(app.get("/bff/cookies/echo/c").cookie_of(&alice))
        .await;
    assert!(seen_header(&r.json(), "cookie").is_empty(), "{}", r.body);
    assert!(!r.body.contains(&alice.cookie));
}

#[tokio::test]
async fn client_sent_identity_and_forwarding_headers_are_replaced_or_removed() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let r = app
        .send(
            app.post("/bff/orders/echo/h")
                .authed(&alice)
                .header("x-latchkey-user", "someone-else")
                .header("x-latchkey-roles", "admin")
                .header("x-forwarded-for", "203.0.113.9")
                .header("x-forwarded-host", "evil.example")
                .header("x-forwarded-proto", "https")
                .header("x-forwarded-prefix", "/admin")
                .header("forwarded", "for=203.0.113.9;proto=https")
                .header("x-real-ip", "203.0.113.9")
                .header("proxy-authorization", "Basic Zm9vOmJhcg==")
                .header("x-custom", "kept")
                .body("payload"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let echo = r.json();
    assert_eq!(
        seen_header(&echo, "x-latchkey-user"),
        [alice.user_id.as_str()]
    );
    assert_eq!(seen_header(&echo, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(seen_header(&echo, "x-forwarded-proto"), ["http"]);
    // The configured issuer's host (here the harness's default issuer),
    // never the client's `Host`.
    let issuer = app.state.tokens.settings().issuer.clone();
    let issuer_host = issuer.strip_prefix("http://").unwrap();
    assert_eq!(seen_header(&echo, "x-forwarded-host"), [issuer_host]);
    assert_eq!(
        seen_header(&echo, "host"),
        [bff.example.to_string().as_str()]
    );
    assert_eq!(seen_header(&echo, "x-custom"), ["kept"]);
    for gone in [
        "x-latchkey-roles",
        "x-forwarded-prefix",
        "forwarded",
        "x-real-ip",
        "proxy-authorization",
        "x-csrf-token",
        "cookie",
    ] {
        assert!(
            seen_header(&echo, gone).is_empty(),
            "{gone} reached the upstream: {echo}"
        );
    }
    assert_eq!(jwt_claims(&bearer_of(&echo))["aud"], AUDIENCE);
    assert!(
        !r.body.contains(&alice.csrf),
        "the CSRF token never goes upstream"
    );
    assert_eq!(echo["body"]["sha256"], sha256_hex(b"payload"));
}

#[tokio::test]
async fn hop_by_hop_headers_are_dropped_both_ways() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let head = format!(
        "GET /bff/orders/echo/hop HTTP/1.1\r\n\
         Cookie: {}={}\r\n\
         X-Hop: secret\r\n\
         X-Other-Hop: secret\r\n\
         Keep-Alive: timeout=5\r\n\
         TE: trailers\r\n\
         Proxy-Connection: keep-alive\r\n\
         Trailer: x-checksum\r\n\
         X-End-To-End: kept",
        alice.cookie_name, alice.cookie
    );
    // By hand rather than with `raw_request` (which sends its own
    // `Connection: close`): two `Connection` fields, naming both X- fields.
    let mut conn = app.raw().await;
    let request = format!(
        "{head}\r\nHost: {}\r\nConnection: keep-alive, X-Hop\r\nConnection: x-other-hop\r\n\r\n",
        app.address
    );
    conn.write(request.as_bytes()).await.unwrap();
    let r = conn.read_response().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let echo: Value = serde_json::from_str(&r.body).unwrap();
    for gone in [
        "x-hop",
        "x-other-hop",
        "keep-alive",
        "te",
        "proxy-connection",
        "trailer",
        "connection",
        "upgrade",
        "transfer-encoding",
    ] {
        assert!(
            seen_header(&echo, gone).is_empty(),
            "{gone} was forwarded: {echo}"
        );
    }
    assert_eq!(seen_header(&echo, "x-end-to-end"), ["kept"]);

    // The upstream's own hop-by-hop fields do not reach the browser.
    let r = app.send(app.get("/bff/rec/hop").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, "hop");
    assert_eq!(r.header("x-kept"), Some("1"));
    for gone in ["x-resp-hop", "keep-alive", "proxy-connection"] {
        assert!(
            r.header(gone).is_none(),
            "{gone} came back: {:?}",
            r.headers
        );
    }
}

// ---------------------------------------------------------------- CSRF

#[tokio::test]
async fn unsafe_methods_need_the_csrf_token_and_nothing_reaches_the_upstream_without_it() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    for method in UNSAFE {
        let to = |rb: reqwest::RequestBuilder| rb.cookie_of(&alice).body("{}");
        let refused: [(&str, reqwest::RequestBuilder); 5] = [
            ("no token", to(app.request(method.clone(), "/bff/rec/w"))),
            (
                "wrong token",
                to(app.request(method.clone(), "/bff/rec/w")).header("x-csrf-token", "nope"),
            ),
            (
                "another session's token",
                to(app.request(method.clone(), "/bff/rec/w")).csrf_of(&bob),
            ),
            (
                "cross-site Origin",
                to(app.request(method.clone(), "/bff/rec/w"))
                    .csrf_of(&alice)
                    .header("origin", "https://evil.example"),
            ),
            (
                "Sec-Fetch-Site: cross-site",
                to(app.request(method.clone(), "/bff/rec/w"))
                    .csrf_of(&alice)
                    .header("sec-fetch-site", "cross-site"),
            ),
        ];
        for (why, rb) in refused {
            let r = app.send(rb).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} with {why}: {}",
                r.body
            );
            assert_problem(&r, 403, "csrf_failed");
        }
    }
    assert!(
        bff.recorder.seen().is_empty(),
        "refused requests reached the upstream"
    );
    for method in UNSAFE {
        let r = app
            .send(
                app.request(method.clone(), "/bff/rec/w")
                    .authed(&alice)
                    .header("origin", app.base.as_str())
                    .header("sec-fetch-site", "same-origin"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{method}: {}", r.body);
    }
    // Safe methods need no token. (OPTIONS: see
    // `options_requests_are_authenticated_and_reach_the_upstream`.)
    for method in [Method::GET, Method::HEAD] {
        let r = app
            .send(app.request(method.clone(), "/bff/rec/r").cookie_of(&alice))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{method}: {}", r.body);
    }
    let methods: Vec<String> = bff.recorder.seen().into_iter().map(|s| s.method).collect();
    assert_eq!(methods, ["POST", "PUT", "PATCH", "DELETE", "GET", "HEAD"]);
}

/// BUG: an `OPTIONS` request to `/bff/…` never reaches the proxy: the CORS
/// layer wrapped around the whole router (tower-http's `CorsLayer` treats
/// every `OPTIONS` as a preflight) answers `200` itself, with or without a
/// session and whatever the API. `ANY /bff/{api}/{path…}` should pass it
/// on, authenticated like `GET`.
#[tokio::test]
async fn options_requests_are_authenticated_and_reach_the_upstream() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let r = app.send(app.request(Method::OPTIONS, "/bff/rec/r")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "no session: {}", r.body);
    let r = app
        .send(
            app.request(Method::OPTIONS, "/bff/nope/r")
                .cookie_of(&alice),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "unknown api: {}", r.body);
    let r = app
        .send(app.request(Method::OPTIONS, "/bff/rec/r").cookie_of(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let methods: Vec<String> = bff.recorder.seen().into_iter().map(|s| s.method).collect();
    assert_eq!(methods, ["OPTIONS"], "the upstream saw the OPTIONS request");
}

#[tokio::test]
async fn the_hybrid_cookie_authenticates_and_needs_its_csrf_token_too() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    app.create_user("alice", PASSWORD).await;
    let hybrid = app.hybrid_login("alice", PASSWORD).await;
    let cookies = format!(
        "{}; {}; theme=dark",
        hybrid.access_cookie, hybrid.refresh_cookie
    );
    let r = app
        .send(app.get("/bff/orders/whoami").header("cookie", &cookies))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["sub"], hybrid.user_id.as_str());
    assert_eq!(r.json()["aud"], AUDIENCE);
    for method in UNSAFE {
        let r = app
            .send(
                app.request(method.clone(), "/bff/rec/w")
                    .header("cookie", &cookies),
            )
            .await;
        assert_problem(&r, 403, "csrf_failed");
    }
    assert!(bff.recorder.seen().is_empty());
    for method in UNSAFE {
        let r = app
            .send(
                app.request(method.clone(), "/bff/rec/w")
                    .header("cookie", &cookies)
                    .header("x-csrf-token", &hybrid.csrf),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{method}: {}", r.body);
    }
    assert_eq!(bff.recorder.seen().len(), 4);
    // Its cookies are latchkey's: never forwarded, even with forward_cookies.
    let r = app
        .send(app.get("/bff/cookies/echo/c").header("cookie", &cookies))
        .await;
    assert_eq!(seen_header(&r.json(), "cookie"), ["theme=dark"]);
    assert_ne!(bearer_of(&r.json()), hybrid.access);
}

// ---------------------------------------------------------------- bodies

/// 64 KiB of pseudo-random bytes, the same for the same `index`.
fn noise(index: u64) -> Vec<u8> {
    let mut x = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(64 * KIB);
    while out.len() < 64 * KIB {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_upload_streams_through_and_arrives_intact() {
    const CHUNKS: u64 = 1600; // × 64 KiB = 100 MiB
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    // Hashed as it is produced: the test holds one chunk at a time, too.
    let sent = Arc::new(Mutex::new(digest::Context::new(&digest::SHA256)));
    let hasher = sent.clone();
    let body = stream::iter(0..CHUNKS).map(move |i| {
        let chunk = noise(i);
        hasher.lock().unwrap().update(&chunk);
        Ok::<_, std::io::Error>(chunk)
    });
    let started = Instant::now();
    let r = app
        .send(
            app.post("/bff/big/upload")
                .authed(&alice)
                .header("content-type", "application/octet-stream")
                .body(reqwest::Body::wrap_stream(body)),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let expected = hex(sent.lock().unwrap().clone().finish().as_ref());
    assert_eq!(r.json()["bytes"].as_u64(), Some(CHUNKS * 64 * KIB as u64));
    assert_eq!(r.json()["sha256"], expected.as_str());
    // Constant memory: `request_bodies_reach_the_upstream_before_they_end`
    // fails for any proxy that holds a body back; the resident set of the
    // real process during a 100 MiB upload is measured by
    // scripts/bench-bff.sh (other tests share this process's memory).
    eprintln!("100 MiB through the BFF in {took:?}");
}

#[tokio::test]
async fn request_bodies_reach_the_upstream_before_they_end() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let rec = bff.recorder.clone();
    // Half the body, then wait until the upstream has received it: a proxy that
    // buffered the body would never let it arrive.
    let half = 4 * 64 * KIB as u64;
    let body = stream::unfold(0u32, move |i| {
        let rec = rec.clone();
        async move {
            if i == 8 {
                return None;
            }
            if i == 4 {
                let deadline = Instant::now() + Duration::from_secs(15);
                while rec.received() < half {
                    if Instant::now() > deadline {
                        let e = std::io::Error::other("the upstream got nothing of the first half");
                        return Some((Err(e), 8));
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            Some((Ok(vec![b'x'; 64 * KIB]), i + 1))
        }
    });
    let res = app
        .client
        .post(app.url("/bff/rec/progress"))
        .cookie_of(&alice)
        .csrf_of(&alice)
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .expect("the upstream received the first half while the second was held back");
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["bytes"].as_u64(), Some(2 * half));
}

#[tokio::test]
async fn response_bodies_reach_the_client_as_they_are_produced() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let mut res = app
        .client
        .get(app.url("/bff/rec/held"))
        .cookie_of(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The upstream holds its second chunk until the first has arrived here.
    let first = tokio::time::timeout(Duration::from_secs(15), res.chunk())
        .await
        .expect("the first chunk arrives while the upstream still holds the rest")
        .unwrap();
    assert_eq!(first.as_deref(), Some(&b"first"[..]));
    bff.recorder.release();
    let mut rest = Vec::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_response_streams_back_intact() {
    const BYTES: u64 = 20 * MIB as u64 + 3;
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let mut res = app
        .client
        .get(app.url(&format!("/bff/orders/stream?bytes={BYTES}&chunk=65536")))
        .cookie_of(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut got = digest::Context::new(&digest::SHA256);
    let mut n = 0u64;
    while let Some(chunk) = res.chunk().await.unwrap() {
        got.update(&chunk);
        n += chunk.len() as u64;
    }
    let mut want = digest::Context::new(&digest::SHA256);
    let pattern: Vec<u8> = (0..26 * 4096)
        .map(latchkey_example_api::pattern_byte)
        .collect();
    let mut left = BYTES;
    while left > 0 {
        let take = left.min(pattern.len() as u64);
        want.update(&pattern[..usize::try_from(take).unwrap()]);
        left -= take;
    }
    assert_eq!(n, BYTES);
    assert_eq!(hex(got.finish().as_ref()), hex(want.finish().as_ref()));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_whether_declared_or_chunked() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let limit = 64 * KIB;
    let chunked = |len: usize| {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![b'a'; len]
            .chunks(8 * KIB)
            .map(|c| Ok(c.to_vec()))
            .collect();
        reqwest::Body::wrap_stream(stream::iter(chunks))
    };
    // Exactly the limit passes, declared or not.
    let r = app
        .send(
            app.post("/bff/small/upload")
                .authed(&alice)
                .body(vec![b'a'; limit]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["sha256"], sha256_hex(&vec![b'a'; limit]));
    let r = app
        .send(
            app.post("/bff/small/upload")
                .authed(&alice)
                .body(chunked(limit)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["bytes"].as_u64(), Some(limit as u64));
    // One byte more is refused: at once when Content-Length says so …
    let r = app
        .send(
            app.post("/bff/small/upload")
                .authed(&alice)
                .body(vec![b'a'; limit + 1]),
        )
        .await;
    assert_problem(&r, 413, "payload_too_large");
    // … and when the streamed body runs over.
    let r = app
        .send(
            app.post("/bff/small/upload")
                .authed(&alice)
                .body(chunked(limit + 1)),
        )
        .await;
    assert_problem(&r, 413, "payload_too_large");
    let r = app
        .send(
            app.post("/bff/small/upload")
                .authed(&alice)
                .body(chunked(4 * limit)),
        )
        .await;
    assert_problem(&r, 413, "payload_too_large");
    // The default limit (10 MiB) applies to an API that sets none.
    let r = app
        .send(
            app.post("/bff/orders/upload")
                .authed(&alice)
                .header("content-length", (10 * MIB + 1).to_string())
                .body(vec![b'a'; 10 * MIB + 1]),
        )
        .await;
    assert_problem(&r, 413, "payload_too_large");
}

// ---------------------------------------------------------------- failures

#[tokio::test]
async fn a_refused_or_hung_up_upstream_is_502_problem_json() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    for path in ["/bff/down/x", "/bff/hangup/x"] {
        let r = app.send(app.get(path).cookie_of(&alice)).await;
        assert_problem(&r, 502, "upstream_unavailable");
        let r = app.send(app.post(path).authed(&alice).body("x")).await;
        assert_problem(&r, 502, "upstream_unavailable");
    }
}

#[tokio::test]
async fn a_slow_upstream_is_504_problem_json_after_the_apis_timeout() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let started = Instant::now();
    let r = app
        .send(app.get("/bff/hasty/slow?ms=5000").cookie_of(&alice))
        .await;
    let took = started.elapsed();
    assert_problem(&r, 504, "upstream_timeout");
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_millis(3000), "{took:?}");
    // Within the timeout it answers.
    let r = app
        .send(app.get("/bff/hasty/slow?ms=10").cookie_of(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["slept_ms"], 10);
    // The same upstream through an API with the default timeout waits.
    let r = app
        .send(app.get("/bff/orders/slow?ms=600").cookie_of(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

// ---------------------------------------------------------------- responses

#[tokio::test]
async fn the_upstreams_set_cookie_is_dropped_unless_configured() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let r = app
        .send(app.get("/bff/orders/set-cookie").cookie_of(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    let r = app
        .send(app.get("/bff/cookies/set-cookie").cookie_of(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.set_cookies(),
        ["example_upstream=1; Path=/; HttpOnly; SameSite=Lax"]
    );
}

#[tokio::test]
async fn upstream_errors_pass_through_as_they_are() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let r = app
        .send(app.get("/bff/orders/no-such-route").cookie_of(&alice))
        .await;
    assert_problem(&r, 404, "not_found");
    assert_eq!(
        r.json()["detail"],
        "There is nothing here.",
        "the upstream's own problem"
    );
}

// ---------------------------------------------------------------- websocket

async fn websocket(
    app: &TestApp,
    path: &str,
    cookie: Option<&Login>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut request = format!("ws://{}{path}", app.address)
        .into_client_request()
        .unwrap();
    if let Some(login) = cookie {
        request.headers_mut().insert(
            "cookie",
            format!("{}={}", login.cookie_name, login.cookie)
                .parse()
                .unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

fn refused_status(e: &tokio_tungstenite::tungstenite::Error) -> u16 {
    match e {
        tokio_tungstenite::tungstenite::Error::Http(res) => res.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test]
async fn websocket_upgrades_pass_through_with_the_session() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let mut ws = websocket(app, "/bff/orders/ws", Some(&alice))
        .await
        .expect("the upgrade goes through");
    for message in [
        Message::text("hello through the BFF"),
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::text("x".repeat(200 * KIB)),
    ] {
        ws.send(message.clone()).await.unwrap();
        let echoed = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("an echo")
            .unwrap()
            .unwrap();
        assert_eq!(echoed, message);
    }
    ws.close(None).await.unwrap();
    // The same authentication as any request.
    let e = websocket(app, "/bff/orders/ws", None).await.unwrap_err();
    assert_eq!(refused_status(&e), 401);
    let e = websocket(app, "/bff/nope/ws", Some(&alice))
        .await
        .unwrap_err();
    assert_eq!(refused_status(&e), 404);
}

#[tokio::test]
async fn a_websocket_upgrade_after_logout_is_refused() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let e = websocket(app, "/bff/orders/ws", Some(&alice))
        .await
        .unwrap_err();
    assert_eq!(refused_status(&e), 401);
}

// ---------------------------------------------------------------- logout

#[tokio::test]
async fn logout_ends_access_through_the_bff() {
    let bff = Bff::spawn().await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let r = app
        .send(app.get("/bff/orders/whoami").cookie_of(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .send(app.get("/bff/orders/whoami").cookie_of(&alice))
        .await;
    let (status, _) = problem(&r);
    assert_eq!(status, 401, "{}", r.body);
    let r = app.send(app.post("/bff/rec/w").authed(&alice)).await;
    assert_eq!(problem(&r).0, 401, "{}", r.body);
    // Log out everywhere ends the other sessions' access too.
    let phone = app.login("alice", PASSWORD, false).await;
    let laptop = app.login("alice", PASSWORD, false).await;
    let r = app.send(app.delete("/v1/sessions").authed(&phone)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for login in [&phone, &laptop] {
        let r = app
            .send(app.get("/bff/orders/whoami").cookie_of(login))
            .await;
        assert_eq!(problem(&r).0, 401, "{}", r.body);
    }
    assert!(bff.recorder.seen().is_empty());
}
