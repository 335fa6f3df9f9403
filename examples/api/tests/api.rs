#![allow(clippy::unwrap_used, clippy::expect_used)]
// Real-time bounds on socket deadlines (never "took < X" assertions).
#![allow(clippy::disallowed_methods)]
//! The example API end to end over loopback: started in-process with
//! `spawn` (as the BFF tests do) and as the `example-api` process, verifying
//! tokens against latchkey's JWKS document served from a `KeySet`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use latchkey_example_api::{pattern_byte, sha256_hex, spawn};
use latchkey_tokens::{AccessClaims, Algorithm, KeyMaterial, KeySet, Kid};
use latchkey_verify::{LatchkeyVerifier, VerifierConfig};
use reqwest::StatusCode;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const AUDIENCE: &str = "latchkey";

/// A stand-in for latchkey's key endpoint: its real JWKS document.
struct Latchkey {
    base: String,
    keys: std::sync::Arc<KeySet>,
}

impl Latchkey {
    async fn start() -> Self {
        let kid = Kid::parse("example-kid").unwrap();
        let keys = std::sync::Arc::new(KeySet::new(
            KeyMaterial::generate(Algorithm::EdDSA, kid).unwrap(),
        ));
        let jwks = keys.jwks();
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || async move { axum::Json(jwks) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, keys }
    }

    fn claims(&self) -> AccessClaims {
        let now = latchkey_verify::clock::system_now();
        AccessClaims {
            iss: self.base.clone(),
            sub: "user-42".into(),
            aud: AUDIENCE.into(),
            exp: now + 300,
            iat: now,
            nbf: None,
            jti: "jti-1".into(),
            sid: "sid-1".into(),
            amr: Vec::new(),
            auth_time: None,
            groups: Vec::new(),
        }
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.keys.sign(&self.claims()).unwrap())
    }

    fn verifier(&self) -> LatchkeyVerifier {
        LatchkeyVerifier::new(VerifierConfig::for_latchkey(&self.base, AUDIENCE)).unwrap()
    }
}

struct Api {
    base: String,
    latchkey: Latchkey,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        let latchkey = Latchkey::start().await;
        let addr = spawn(latchkey.verifier()).await.unwrap();
        Self {
            base: format!("http://{addr}"),
            latchkey,
            http: reqwest::Client::new(),
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, path)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", self.latchkey.bearer())
    }
}

#[tokio::test]
async fn healthz_needs_no_token() {
    let api = Api::start().await;
    let response = reqwest::get(format!("{}/healthz", api.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn whoami_returns_the_verified_claims() {
    let api = Api::start().await;
    let response = api.get("/whoami").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let claims: AccessClaims = response.json().await.unwrap();
    assert_eq!(claims.sub, "user-42");
    assert_eq!(claims.iss, api.latchkey.base);
}

#[tokio::test]
async fn every_route_but_healthz_requires_a_valid_token() {
    let api = Api::start().await;
    let routes = [
        ("GET", "/whoami"),
        ("GET", "/echo/a/b"),
        ("DELETE", "/echo"),
        ("GET", "/slow?ms=1"),
        ("GET", "/stream?bytes=10"),
        ("POST", "/upload"),
        ("GET", "/ws"),
        ("GET", "/set-cookie"),
    ];
    for (method, path) in routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let url = format!("{}{path}", api.base);
        for authorization in [None, Some("Bearer not-a-token")] {
            let mut request = api.http.request(method.clone(), &url);
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path}"
            );
            assert!(response.headers().contains_key("www-authenticate"));
            assert!(response.headers().get("set-cookie").is_none());
            let problem: Value = response.json().await.unwrap();
            assert!(problem["code"].is_string());
        }
    }
}

#[tokio::test]
async fn echo_reports_what_arrived() {
    let api = Api::start().await;
    let body = vec![7u8; 300_000];
    let response = api
        .request(reqwest::Method::PUT, "/echo/some/path?x=1&y=two")
        .header("x-custom", "one")
        .header("cookie", "a=b")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echo: Value = response.json().await.unwrap();
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["path"], "/echo/some/path");
    assert_eq!(echo["query"], "x=1&y=two");
    assert_eq!(echo["headers"]["x-custom"][0], "one");
    assert_eq!(echo["headers"]["cookie"][0], "a=b");
    let authorization = echo["headers"]["authorization"][0].as_str().unwrap();
    assert!(authorization.starts_with("Bearer "));
    assert_eq!(echo["body"]["sha256"], sha256_hex(&body));
    assert_eq!(echo["body"]["bytes"], 300_000);
    assert_eq!(echo["sub"], "user-42");
}

#[tokio::test]
async fn upload_hashes_the_body() {
    let api = Api::start().await;
    let body: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let response = api
        .request(reqwest::Method::POST, "/upload")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["sha256"], sha256_hex(&body));
    assert_eq!(answer["bytes"], 5_000_000);
}

#[tokio::test]
async fn stream_sends_exactly_the_requested_pattern() {
    let api = Api::start().await;
    let mut response = api
        .get("/stream?bytes=1000003&chunk=65536")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.content_length().is_none(),
        "streamed, not buffered"
    );
    let mut offset = 0u64;
    while let Some(chunk) = response.chunk().await.unwrap() {
        for byte in chunk.iter() {
            assert_eq!(*byte, pattern_byte(offset));
            offset += 1;
        }
    }
    assert_eq!(offset, 1_000_003);
}

#[tokio::test]
async fn stream_with_a_delay_delivers_the_first_chunk_before_the_last() {
    let api = Api::start().await;
    let started = Instant::now();
    let mut response = api
        .get("/stream?bytes=40&chunk=10&delay_ms=150")
        .send()
        .await
        .unwrap();
    let first = response.chunk().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert_eq!(&first[..], b"abcdefghij");
    while response.chunk().await.unwrap().is_some() {}
    assert!(started.elapsed() >= first_at + Duration::from_millis(400));
}

#[tokio::test]
async fn slow_answers_after_the_requested_delay() {
    let api = Api::start().await;
    let started = Instant::now();
    let response = api.get("/slow?ms=120").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(120));
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["slept_ms"], 120);
}

#[tokio::test]
async fn set_cookie_answers_with_a_cookie() {
    let api = Api::start().await;
    let response = api.get("/set-cookie").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cookie.starts_with("example_upstream=1;"));
}

#[tokio::test]
async fn the_websocket_echoes_text_and_binary() {
    use futures_util::{SinkExt, StreamExt};
    let api = Api::start().await;
    let url = format!("{}/ws", api.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", api.latchkey.bearer().parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket.send(Message::text("hello")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("hello")
    );
    socket.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::binary(vec![1u8, 2, 3])
    );
    socket.close(None).await.unwrap();

    let refused =
        tokio_tungstenite::connect_async(format!("{}/ws", api.base.replace("http://", "ws://")))
            .await;
    assert!(refused.is_err(), "no token, no socket");
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let api = Api::start().await;
    let response = api.get("/nope").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let content_type = response.headers().get("content-type").unwrap();
    assert_eq!(content_type, "application/problem+json");
}

/// The `example-api` process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_its_address_and_serves_verified_requests() {
    let latchkey = Latchkey::start().await;
    let mut child = Process(
        Command::new(env!("CARGO_BIN_EXE_example-api"))
            .args(["--listen", "127.0.0.1:0", "--latchkey", &latchkey.base])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("example-api listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    assert_ne!(addr.port(), 0);

    let http = reqwest::Client::new();
    let response = http
        .get(format!("http://{addr}/whoami"))
        .header("authorization", latchkey.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let claims: AccessClaims = response.json().await.unwrap();
    assert_eq!(claims.sub, "user-42");
}
