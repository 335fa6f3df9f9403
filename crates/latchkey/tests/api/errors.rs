//! Errors and limits: every 4xx is problem JSON with a stable code; bodies
//! and headers are bounded; every response carries a request id and
//! `nosniff`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    PASSWORD, RawReply, Reply, RequestExt as _, TestApp, assert_problem, login_json, problem,
};

const KIB: usize = 1024;

fn json_post(app: &TestApp, path: &str, body: impl Into<String>) -> reqwest::RequestBuilder {
    app.post(path)
        .header("content-type", "application/json")
        .body(body.into())
}

#[tokio::test]
async fn malformed_json_is_400_malformed_json() {
    let app = TestApp::spawn().await;
    for body in [
        "{",
        "{\"username\":",
        "not json",
        "",
        "{\"username\":\"a\",}",
    ] {
        for path in ["/v1/session/login", "/v1/register"] {
            let r = app.send(json_post(&app, path, body)).await;
            assert_problem(&r, 400, "malformed_json");
        }
    }
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415() {
    let app = TestApp::spawn().await;
    let body = login_json("alice", PASSWORD);
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut rb = app.post("/v1/session/login").body(body.clone());
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        let r = app.send(rb).await;
        assert_problem(&r, 415, "unsupported_media_type");
    }
}

#[tokio::test]
async fn a_missing_field_is_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let r = app
        .send(json_post(
            &app,
            "/v1/session/login",
            r#"{"username":"alice"}"#,
        ))
        .await;
    assert_problem(&r, 422, "invalid_request");
    assert!(r.json()["detail"].as_str().unwrap().contains("password"));
    let r = app
        .send(json_post(
            &app,
            "/v1/register",
            r#"{"password":"whatever-long"}"#,
        ))
        .await;
    assert_problem(&r, 422, "invalid_request");
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_422_and_its_value_is_never_echoed() {
    let app = TestApp::spawn().await;
    app.secret("hunter2-is-my-secret");
    let cases = [
        json!({"username": "alice", "password": PASSWORD, "remember": "yes"}),
        json!({"username": "alice", "password": PASSWORD, "remember": "hunter2-is-my-secret"}),
        json!({"username": "alice", "password": 1234567890987_u64}),
        json!({"username": ["hunter2-is-my-secret"], "password": PASSWORD}),
        json!(["hunter2-is-my-secret"]),
    ];
    for body in cases {
        let r = app
            .send(json_post(&app, "/v1/session/login", body.to_string()))
            .await;
        assert_problem(&r, 422, "invalid_request");
        for needle in ["yes", "hunter2", "1234567890987", PASSWORD] {
            assert!(!r.body.contains(needle), "{needle} echoed: {}", r.body);
        }
    }
    app.assert_no_secret_leaked();
}

fn padded_login(total: usize) -> String {
    let head = r#"{"username":"alice","password":""#;
    let tail = r#""}"#;
    let body = format!(
        "{head}{}{tail}",
        "p".repeat(total - head.len() - tail.len())
    );
    assert_eq!(body.len(), total);
    body
}

#[tokio::test]
async fn a_body_over_64_kib_with_content_length_is_413() {
    let app = TestApp::spawn().await;
    let r = app
        .send(json_post(
            &app,
            "/v1/session/login",
            padded_login(64 * KIB + 1),
        ))
        .await;
    assert_problem(&r, 413, "payload_too_large");
    let r = app
        .send(json_post(&app, "/v1/register", padded_login(200 * KIB)))
        .await;
    assert_problem(&r, 413, "payload_too_large");
}

#[tokio::test]
async fn a_body_of_exactly_64_kib_is_read() {
    let app = TestApp::spawn().await;
    let r = app
        .send(json_post(&app, "/v1/session/login", padded_login(64 * KIB)))
        .await;
    assert_problem(&r, 401, "invalid_credentials");
}

async fn send_chunked(app: &TestApp, path: &str, body: &[u8]) -> RawReply {
    let mut conn = app.raw().await;
    let mut wire = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.address
    )
    .into_bytes();
    for c in body.chunks(4 * KIB) {
        wire.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        wire.extend_from_slice(c);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    // The server may answer before reading everything; that is fine.
    let _ = conn.write(&wire).await;
    conn.read_response().await
}

#[tokio::test]
async fn a_chunked_body_over_64_kib_is_413() {
    let app = TestApp::spawn().await;
    for size in [64 * KIB + 1, 100 * KIB] {
        let r = send_chunked(&app, "/v1/session/login", padded_login(size).as_bytes()).await;
        assert_problem(&r.to_reply(), 413, "payload_too_large");
    }
}

#[tokio::test]
async fn a_small_chunked_body_is_read() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let r = send_chunked(
        &app,
        "/v1/session/login",
        login_json("alice", PASSWORD).as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.starts_with("__Host-lk_session="))
    );
}

#[tokio::test]
async fn headers_over_16_kib_are_431_problem_json() {
    let app = TestApp::spawn().await;
    let big = "h".repeat(20 * KIB);
    for rb in [
        app.get("/healthz"),
        app.get("/v1/session"),
        app.post("/v1/session/login")
            .json(&json!({"username":"a","password":"b"})),
        app.get("/no/such/route"),
    ] {
        let r = app.send(rb.header("x-big", &big)).await;
        assert_problem(&r, 431, "headers_too_large");
        assert!(r.header("x-request-id").is_some());
    }
    // Many headers adding up past the limit count too.
    let mut rb = app.get("/healthz");
    for i in 0..40 {
        rb = rb.header(format!("x-pad-{i}"), "p".repeat(500));
    }
    let r = app.send(rb).await;
    assert_problem(&r, 431, "headers_too_large");
    // A big cookie header is a header too.
    let r = app
        .send(app.get("/v1/session").raw_cookie("__Host-lk_session", &big))
        .await;
    assert_problem(&r, 431, "headers_too_large");
}

#[tokio::test]
async fn headers_just_under_16_kib_are_accepted() {
    let app = TestApp::spawn().await;
    let r = app
        .send(app.get("/healthz").header("x-big", "h".repeat(15 * KIB)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_route_is_404_problem() {
    let app = TestApp::spawn().await;
    for rb in [
        app.get("/nope"),
        app.post("/v1/nope"),
        app.get("/v1/session/extra"),
        app.delete("/v1/sessions/a/b"),
        app.get("/V1/SESSION"),
    ] {
        let r = app.send(rb).await;
        assert_problem(&r, 404, "not_found");
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_problem() {
    let app = TestApp::spawn().await;
    for rb in [
        app.get("/v1/register"),
        app.get("/v1/session/login"),
        app.request(reqwest::Method::PUT, "/v1/session"),
        app.delete("/v1/me"),
        app.post("/healthz"),
        app.get("/v1/password"),
        app.post("/v1/sessions"),
        app.get("/v1/sessions/AAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let r = app.send(rb).await;
        assert_problem(&r, 405, "method_not_allowed");
    }
}

#[tokio::test]
async fn a_405_lists_the_allowed_methods() {
    let app = TestApp::spawn().await;
    let r = app.send(app.get("/v1/register")).await;
    assert_problem(&r, 405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("POST"), "RFC 9110: a 405 has Allow");
    let r = app.send(app.post("/v1/sessions")).await;
    let allow = r.header("allow").unwrap_or_default().to_owned();
    assert!(
        allow.contains("GET") && allow.contains("DELETE"),
        "{allow:?}"
    );
}

#[tokio::test]
async fn nul_bytes_in_credentials_are_4xx_never_5xx() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let cases = [
        (
            "/v1/session/login",
            json!({"username": "al\u{0}ice", "password": PASSWORD}),
        ),
        (
            "/v1/session/login",
            json!({"username": "alice", "password": "pass\u{0}word-long"}),
        ),
        (
            "/v1/session/login",
            json!({"username": "\u{0}", "password": "\u{0}"}),
        ),
        (
            "/v1/register",
            json!({"username": "b\u{0}b", "password": PASSWORD}),
        ),
        (
            "/v1/register",
            json!({"username": "bob", "password": "pass\u{0}word-long"}),
        ),
    ];
    for (path, body) in cases {
        let r = app.send(app.post(path).json(&body)).await;
        let (status, _) = problem(&r);
        assert!((400..500).contains(&status), "{path} {body}: {status}");
    }
    let r = app
        .send(
            app.post("/v1/password")
                .authed(&alice)
                .json(&json!({"current_password": "a\u{0}b", "new_password": "x\u{0}yyyyyyyy"})),
        )
        .await;
    let (status, _) = problem(&r);
    assert!((400..500).contains(&status), "{status}");
    // A NUL in the new password is refused by policy, not stored.
    let r = app
        .send(
            app.post("/v1/password")
                .authed(&alice)
                .json(&json!({"current_password": PASSWORD, "new_password": "x\u{0}yyyyyyyy"})),
        )
        .await;
    assert_problem(&r, 422, "invalid_password");
}

fn assert_common_headers(r: &Reply) -> String {
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let id = r.header("x-request-id").expect("X-Request-Id").to_owned();
    assert!(
        !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "{id:?}"
    );
    id
}

#[tokio::test]
async fn every_response_has_a_request_id_and_nosniff() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mut ids = Vec::new();
    for rb in [
        app.get("/healthz"),
        app.get("/readyz"),
        app.get("/metrics"),
        app.get("/openapi.json"),
        app.get("/nope"),
        app.get("/v1/register"),
        app.get("/v1/session"),
        app.get("/v1/session").cookie_of(&alice),
        app.post("/v1/session/logout").cookie_of(&alice),
        app.post("/v1/session/login")
            .json(&json!({"username":"alice","password":"nope-nope"})),
        json_post(&app, "/v1/session/login", "{"),
        app.post("/v1/session/login").body("x"),
        app.get("/healthz").header("x-big", "h".repeat(20 * KIB)),
        json_post(&app, "/v1/register", padded_login(70 * KIB)),
    ] {
        let r = app.send(rb).await;
        ids.push(assert_common_headers(&r));
        if r.status.is_client_error() || r.status.is_server_error() {
            problem(&r);
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids are unique: {ids:?}");
}

#[tokio::test]
async fn a_well_formed_client_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = TestApp::spawn().await;
    let r = app
        .send(app.get("/healthz").header("x-request-id", "edge-7f3a-ABC"))
        .await;
    assert_eq!(r.header("x-request-id"), Some("edge-7f3a-ABC"));
    let r = app
        .send(app.get("/nope").header("x-request-id", "edge-7f3a-ABC"))
        .await;
    assert_eq!(r.header("x-request-id"), Some("edge-7f3a-ABC"));
    let too_long = "a".repeat(65);
    for bad in [
        "has space",
        "semi;colon",
        "\"quoted\"",
        too_long.as_str(),
        "",
    ] {
        let r = app
            .send(app.get("/healthz").header("x-request-id", bad))
            .await;
        let id = assert_common_headers(&r);
        assert_ne!(id, bad);
    }
}

#[tokio::test]
async fn many_small_headers_under_the_16_kib_limit_are_not_refused_with_a_bare_431() {
    let app = TestApp::spawn().await;
    // 150 headers, about 2 KiB in all: well under the 16 KiB limit.
    let mut rb = app.get("/healthz");
    for i in 0..150 {
        rb = rb.header(format!("x-h{i}"), "v");
    }
    let r = app.send(rb).await;
    if r.status != StatusCode::OK {
        assert_problem(&r, 431, "headers_too_large");
    }
}
