//! Regressions for the limits a client can push against: metrics label
//! cardinality, per-address limits on the unthrottled endpoints, and
//! trusted proxies on a dual-stack listener.

use std::time::Duration;

use latchkey::Config;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{MINUTE, PASSWORD, TestApp, assert_problem};

/// The odd methods a client sends; none of them may become a label.
fn odd_methods() -> Vec<String> {
    (0..40)
        .map(|i| format!("ZZODD{i:03}{}", "X".repeat(1024)))
        .collect()
}

#[tokio::test]
async fn i9_01_odd_methods_do_not_grow_the_metrics() {
    let app = TestApp::spawn().await;
    let before = app.send(app.get("/metrics")).await.body.len();
    for m in odd_methods() {
        let method = Method::from_bytes(m.as_bytes()).unwrap();
        let r = app.send(app.request(method, "/healthz")).await;
        assert!(r.status.is_client_error(), "{}", r.status);
    }
    let after = app.send(app.get("/metrics")).await.body;
    assert!(
        !after.contains("ZZODD"),
        "a client-chosen method became a label"
    );
    assert!(after.contains("method=\"other\""), "{after}");
    // 40 distinct methods add one label set, not forty.
    assert!(
        after.len() < before + 8 * 1024,
        "metrics grew from {before} to {} bytes",
        after.len()
    );
}

#[tokio::test]
async fn i9_01_metrics_can_leave_the_public_listener() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let r = app.send(app.get("/metrics")).await;
    assert_problem(&r, 404, "not_found");
    let private = app.metrics_address.expect("a metrics listener");
    let r = app
        .client
        .get(format!("http://{private}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("latchkey_active_sessions"));
    // It serves nothing else.
    let r = app
        .client
        .get(format!("http://{private}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn i9_01_a_metrics_token_guards_the_public_metrics() {
    let token = "metrics-scrape-token-0123456789";
    let app = TestApp::spawn_with(move |cfg| {
        cfg.http.metrics_token = Some(token.into());
    })
    .await;
    let r = app.send(app.get("/metrics")).await;
    assert_problem(&r, 401, "unauthenticated");
    let r = app.send(app.get("/metrics").bearer_auth("wrong")).await;
    assert_problem(&r, 401, "unauthenticated");
    let r = app.send(app.get("/metrics").bearer_auth(token)).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Registration (argon2 per call) is limited per address by default:
/// 10 an hour.
#[tokio::test]
async fn i9_03_registration_is_limited_per_address_by_default() {
    let app = TestApp::spawn().await;
    for i in 0..10 {
        let r = app.register(&format!("user{i}"), PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = app.register("user10", PASSWORD).await;
    assert_problem(&r, 429, "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    app.advance(Duration::from_secs(3600));
    let r = app.register("user10", PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

fn tight(cfg: &mut Config) {
    let limit = latchkey_http::RouteLimit {
        per_address: 3,
        window: MINUTE,
    };
    let l = &mut cfg.http.address_limits;
    l.register = limit;
    l.token_refresh = limit;
    l.token_revoke = limit;
    l.token_introspect = limit;
    l.cookie_refresh = limit;
    cfg.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
}

/// Every unthrottled endpoint is limited per client address, before its
/// handler runs (so bad requests count too); `429` + `Retry-After`; other
/// addresses are not affected, and the window ends by itself.
#[tokio::test]
async fn i9_03_each_endpoint_is_limited_per_address() {
    let app = TestApp::spawn_with(tight).await;
    let cases: [(&str, &str); 5] = [
        ("/v1/register", r#"{"username":"x","password":"short"}"#),
        ("/v1/token/refresh", "{}"),
        ("/v1/token/revoke", "token=nothing"),
        ("/v1/token/introspect", "token=nothing"),
        ("/v1/cookie/refresh", ""),
    ];
    for (path, body) in cases {
        let send = |xff: &'static str| {
            app.send(
                app.post(path)
                    .header("x-forwarded-for", xff)
                    .header("content-type", content_type(body))
                    .body(body.to_owned()),
            )
        };
        for _ in 0..3 {
            let r = send("203.0.113.7").await;
            assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{path}");
        }
        let r = send("203.0.113.7").await;
        assert_problem(&r, 429, "rate_limited");
        assert!(r.header("retry-after").is_some(), "{path}");
        let r = send("198.51.100.1").await;
        assert_ne!(
            r.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{path}: other address"
        );
    }
    app.advance(MINUTE);
    let r = app
        .send(
            app.post("/v1/token/refresh")
                .header("x-forwarded-for", "203.0.113.7")
                .json(&json!({})),
        )
        .await;
    assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "the window ended");
}

fn content_type(body: &str) -> &'static str {
    if body.starts_with('{') {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    }
}

/// A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`.
fn dual_stack(cfg: &mut Config) {
    cfg.listen = "[::]:0".parse().unwrap();
    cfg.http.login_limits.per_account = 100;
    cfg.http.login_limits.per_address = 3;
}

async fn login_via(app: &TestApp, base: &str, user: &str, pw: &str, xff: &str) -> StatusCode {
    app.client
        .post(format!("{base}/v1/session/login"))
        .header("x-forwarded-for", xff)
        .json(&json!({ "username": user, "password": pw }))
        .send()
        .await
        .unwrap()
        .status()
}

async fn attacker_fails_victim_logs_in(app: &TestApp) {
    let base = format!("http://127.0.0.1:{}", app.address.port());
    app.create_user("alice", PASSWORD).await;
    for _ in 0..3 {
        let s = login_via(app, &base, "alice", "wrong-password", "203.0.113.66").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login_via(app, &base, "alice", PASSWORD, "203.0.113.66").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_via(app, &base, "alice", PASSWORD, "198.51.100.20").await,
        StatusCode::OK,
        "the victim has an address of its own"
    );
}

#[tokio::test]
async fn i9_11_trusted_proxy_matches_an_ipv4_mapped_peer() {
    let app = TestApp::spawn_with(|cfg| {
        dual_stack(cfg);
        cfg.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    attacker_fails_victim_logs_in(&app).await;
}

#[tokio::test]
async fn i9_11_trusted_proxies_accept_cidr_ranges() {
    let app = TestApp::spawn_with(|cfg| {
        dual_stack(cfg);
        cfg.http.trusted_proxies = vec![
            "127.0.0.0/8".parse().unwrap(),
            "::ffff:10.0.0.0/104".parse().unwrap(),
        ];
    })
    .await;
    attacker_fails_victim_logs_in(&app).await;
    // The listing shows the canonical client address.
    let base = format!("http://127.0.0.1:{}", app.address.port());
    let r = app
        .client
        .post(format!("{base}/v1/session/login"))
        .header("x-forwarded-for", "::ffff:192.0.2.9")
        .json(&json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn i9_11_proxy_ranges_parse_and_canonicalise() {
    use latchkey_http::caller::IpRange;
    let r: IpRange = "::ffff:10.0.0.0/104".parse().unwrap();
    assert!(r.contains("10.9.8.7".parse().unwrap()));
    assert!(r.contains("::ffff:10.1.2.3".parse().unwrap()));
    assert!(!r.contains("11.0.0.1".parse().unwrap()));
    let one: IpRange = "::ffff:127.0.0.1".parse().unwrap();
    assert!(one.contains("127.0.0.1".parse().unwrap()));
    let v6: IpRange = "2001:db8::/32".parse().unwrap();
    assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
    assert!(!v6.contains("2001:db9::1".parse().unwrap()));
    for bad in ["10.0.0.0/33", "::/129", "nope", "10.0.0.1/", "/8"] {
        assert!(bad.parse::<IpRange>().is_err(), "{bad}");
    }
}
