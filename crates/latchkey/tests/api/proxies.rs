//! Which address a request comes from: the TCP peer, unless that peer is a
//! configured trusted proxy. It decides the per-address login limit and the
//! `ip` shown in session listings.

use latchkey::Config;
use reqwest::StatusCode;

use crate::helpers::{MINUTE, PASSWORD, RequestExt as _, TestApp, assert_problem};

const WRONG: &str = "definitely-not-it";

fn address_limit(cfg: &mut Config) {
    cfg.http.login_limits.per_account = 100;
    cfg.http.login_limits.per_address = 5;
    cfg.http.login_limits.window = 15 * MINUTE;
}

fn behind_proxy(cfg: &mut Config) {
    address_limit(cfg);
    cfg.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
}

/// Logs in with `X-Forwarded-For: xff` and returns the `ip` the session
/// listing shows.
async fn listed_ip(app: &TestApp, xff: &str) -> String {
    let r = app
        .send(
            app.login_request("alice", PASSWORD, None)
                .header("x-forwarded-for", xff),
        )
        .await;
    let login = app.login_from(&r);
    let list = app.send(app.get("/v1/sessions").cookie_of(&login)).await;
    let sessions = list.json()["sessions"].as_array().unwrap().clone();
    let current = sessions.iter().find(|s| s["current"] == true).unwrap();
    current["ip"].as_str().unwrap().to_owned()
}

async fn fail_from(app: &TestApp, xff: &str, times: usize) {
    for i in 0..times {
        let r = app
            .send(
                app.login_request(&format!("ghost{i}"), WRONG, None)
                    .header("x-forwarded-for", xff),
            )
            .await;
        assert_problem(&r, 401, "invalid_credentials");
    }
}

async fn login_from_status(app: &TestApp, xff: &str) -> StatusCode {
    app.send(
        app.login_request("alice", PASSWORD, None)
            .header("x-forwarded-for", xff),
    )
    .await
    .status
}

#[tokio::test]
async fn a_client_cannot_choose_its_address_with_x_forwarded_for() {
    let app = TestApp::spawn_with(address_limit).await;
    app.create_user("alice", PASSWORD).await;
    assert_eq!(listed_ip(&app, "203.0.113.7").await, "127.0.0.1");
    for i in 0..5 {
        fail_from(&app, &format!("198.51.100.{i}"), 1).await;
    }
    assert_eq!(
        login_from_status(&app, "192.0.2.200").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_clients() {
    let app = TestApp::spawn_with(behind_proxy).await;
    app.create_user("alice", PASSWORD).await;
    assert_eq!(listed_ip(&app, "203.0.113.7").await, "203.0.113.7");
    // A client-supplied entry to the left of the proxy's is not believed.
    assert_eq!(listed_ip(&app, "1.1.1.1, 203.0.113.7").await, "203.0.113.7");
    fail_from(&app, "203.0.113.7", 5).await;
    assert_eq!(
        login_from_status(&app, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from_status(&app, "1.1.1.1, 203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS,
        "a spoofed left-hand entry does not escape the limit"
    );
    assert_eq!(
        login_from_status(&app, "198.51.100.9").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_ipv6_clients_are_limited_per_64() {
    let app = TestApp::spawn_with(behind_proxy).await;
    app.create_user("alice", PASSWORD).await;
    for i in 1..=5 {
        fail_from(&app, &format!("2001:db8:1:2::{i:x}"), 1).await;
    }
    assert_eq!(
        login_from_status(&app, "2001:db8:1:2:ffff::1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from_status(&app, "2001:db8:1:3::1").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn junk_left_of_the_proxys_entry_does_not_hide_the_client_address() {
    let app = TestApp::spawn_with(behind_proxy).await;
    app.create_user("alice", PASSWORD).await;
    // The client sent `X-Forwarded-For: junk`; the trusted proxy appended
    // the address it saw. The right-most untrusted entry is the client.
    assert_eq!(listed_ip(&app, "junk, 203.0.113.7").await, "203.0.113.7");
    fail_from(&app, "203.0.113.7", 5).await;
    assert_eq!(
        login_from_status(&app, "junk, 203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS,
        "junk must not move the client's failures to another bucket"
    );
}
