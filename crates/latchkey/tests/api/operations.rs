//! Operations: health, readiness, metrics, the OpenAPI document, and
//! graceful shutdown.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::net::TcpStream;

use crate::helpers::{MINUTE, PASSWORD, RequestExt as _, TestApp, login_json};

#[tokio::test]
async fn healthz_and_readyz_are_200() {
    let app = TestApp::spawn().await;
    let r = app.send(app.get("/healthz")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ok"}));
    let r = app.send(app.get("/readyz")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ready"}));
}

/// The value of the sample line `name` (with its labels, exactly as
/// written), if present.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
}

async fn metrics(app: &TestApp) -> String {
    let r = app.send(app.get("/metrics")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        r.header("content-type")
    );
    r.body
}

#[tokio::test]
async fn metrics_count_login_outcomes_and_live_sessions() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    app.create_user("bob", PASSWORD).await;
    let a1 = app.login("alice", PASSWORD, false).await;
    let _a2 = app.login("alice", PASSWORD, false).await;
    let _b = app.login("bob", PASSWORD, false).await;
    app.login_attempt("alice", "wrong-wrong-wrong").await;
    app.login_attempt("nobody", "wrong-wrong-wrong").await;

    let text = metrics(&app).await;
    let success = r#"latchkey_login_attempts_total{outcome="success"}"#;
    let invalid = r#"latchkey_login_attempts_total{outcome="invalid_credentials"}"#;
    assert_eq!(sample(&text, success), Some(3.0), "{text}");
    assert_eq!(sample(&text, invalid), Some(2.0), "{text}");
    // The hashes just run left their working memory kept for the next.
    let kept = sample(&text, "latchkey_password_hash_memory_bytes");
    assert!(kept.is_some_and(|b| b >= 19456.0 * 1024.0), "{text}");
    assert_eq!(
        sample(&text, "latchkey_active_sessions"),
        Some(3.0),
        "{text}"
    );

    app.send(app.post("/v1/session/logout").authed(&a1)).await;
    let text = metrics(&app).await;
    assert_eq!(
        sample(&text, "latchkey_active_sessions"),
        Some(2.0),
        "{text}"
    );
    // Sessions past their idle timeout are not live, swept or not.
    app.advance(30 * MINUTE);
    let text = metrics(&app).await;
    assert_eq!(
        sample(&text, "latchkey_active_sessions"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(sample(&text, success), Some(3.0), "counters do not reset");
}

#[tokio::test]
async fn metrics_record_request_latency_by_route_template() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let alice = app.login("alice", PASSWORD, false).await;
    let r = app
        .send(
            app.delete("/v1/sessions/AAAAAAAAAAAAAAAAAAAAAA")
                .authed(&alice),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let text = metrics(&app).await;
    let buckets: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("latchkey_http_request_duration_seconds_bucket{"))
        .collect();
    assert!(
        buckets
            .iter()
            .any(|l| l.contains(r#"route="/v1/session/login""#)),
        "{text}"
    );
    // Routes are labelled by template, never by the raw path.
    assert!(
        buckets
            .iter()
            .any(|l| l.contains(r#"route="/v1/sessions/{id}""#)),
        "{text}"
    );
    assert!(!text.contains("AAAAAAAAAAAAAAAAAAAAAA"), "{text}");
    assert!(!text.contains(&alice.cookie));
}

#[tokio::test]
async fn openapi_documents_every_route_with_its_methods() {
    let app = TestApp::spawn().await;
    let r = app.send(app.get("/openapi.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let expected: &[(&str, &[&str])] = &[
        ("/v1/register", &["post"]),
        ("/v1/password", &["post"]),
        ("/v1/session/login", &["post"]),
        ("/v1/session", &["get"]),
        ("/v1/session/logout", &["post"]),
        ("/v1/sessions", &["delete", "get"]),
        ("/v1/sessions/{id}", &["delete"]),
        ("/v1/me", &["get"]),
        ("/v1/token/login", &["post"]),
        ("/v1/token/refresh", &["post"]),
        ("/v1/token/revoke", &["post"]),
        ("/v1/token/introspect", &["post"]),
        ("/.well-known/jwks.json", &["get"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
        ("/openapi.json", &["get"]),
    ];
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in expected {
        let entry = paths
            .get(*path)
            .and_then(|v| v.as_object())
            .unwrap_or_else(|| panic!("{path} is documented"));
        let mut documented: Vec<&str> = entry
            .keys()
            .map(String::as_str)
            .filter(|k| {
                matches!(
                    *k,
                    "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
                )
            })
            .collect();
        documented.sort_unstable();
        assert_eq!(documented, *methods, "{path}");
    }
    // And everything documented is served (no 404/405 for it).
    // Provider routes 404 for an unconfigured provider; `oidc.rs` drives them.
    for (path, entry) in paths.iter().filter(|(p, _)| !p.contains("{provider}")) {
        for method in entry.as_object().unwrap().keys() {
            let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                continue;
            };
            let url = path.replace("{id}", "AAAAAAAAAAAAAAAAAAAAAA");
            let r = app.send(app.request(m, &url)).await;
            assert!(
                !matches!(r.status.as_u16(), 404 | 405),
                "{method} {path}: {}",
                r.status
            );
        }
    }
}

#[tokio::test]
async fn after_the_shutdown_signal_the_server_stops_and_the_port_refuses() {
    let mut app = TestApp::spawn().await;
    // An idle keep-alive connection must not hold shutdown up.
    let r = app.send(app.get("/healthz")).await;
    assert_eq!(r.status, StatusCode::OK);
    app.shutdown().await.expect("run_until returns Ok");
    assert!(
        TcpStream::connect(app.address).await.is_err(),
        "nothing listens any more"
    );
    let err = app.client.get(app.url("/healthz")).send().await;
    assert!(err.is_err(), "{err:?}");
}

#[tokio::test]
async fn a_request_in_flight_at_shutdown_is_answered_before_the_server_stops() {
    let mut app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let mut conn = app.raw().await;
    // A first request proves the connection is accepted and served.
    let probe = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", app.address);
    conn.write(probe.as_bytes()).await.unwrap();
    assert_eq!(conn.read_response().await.status, 200);
    // A login whose body is held back: the server reads its head and asks
    // for the body (100 Continue), so the request is in flight.
    let body = login_json("alice", PASSWORD);
    let head = format!(
        "POST /v1/session/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        app.address,
        body.len()
    );
    conn.write(head.as_bytes()).await.unwrap();
    let (status, _) = conn.read_head().await;
    assert_eq!(status, 100, "the handler is reading the body");

    app.signal_shutdown();
    // New connections are refused while the in-flight request drains.
    let refused = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Ok(s) = TcpStream::connect(app.address).await {
            drop(s);
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(refused.is_ok(), "the listener closes at the signal");
    assert!(!app.is_stopped(), "still draining the in-flight request");

    conn.write(body.as_bytes()).await.unwrap();
    let r = conn.read_response().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.starts_with("__Host-lk_session="))
    );
    app.wait_stopped().await.expect("run_until returns Ok");
    assert!(conn.closed_by_server().await, "the connection is closed");
}

#[tokio::test]
async fn readyz_and_sessions_work_on_a_restarted_server() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let app = app.restart().await;
    let r = app.send(app.get("/readyz")).await;
    assert_eq!(r.status, StatusCode::OK);
    let alice = app.login("alice", PASSWORD, false).await;
    let r = app.send(app.get("/v1/me").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK);
}
