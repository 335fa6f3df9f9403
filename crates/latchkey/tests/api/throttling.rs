//! Login throttling: per account and per address, in a window that ends by
//! itself, counted in the store (so it survives restarts).

use std::time::Duration;

use latchkey::Config;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{MINUTE, PASSWORD, Reply, RequestExt as _, TestApp, assert_problem};

const WRONG: &str = "definitely-not-it";

fn limits(cfg: &mut Config) {
    cfg.http.login_limits.per_account = 3;
    cfg.http.login_limits.per_address = 5;
    cfg.http.login_limits.window = 15 * MINUTE;
}

/// Expects `429 rate_limited` and returns its `Retry-After` in seconds.
fn retry_after(r: &Reply) -> u64 {
    assert_problem(r, 429, "rate_limited");
    let v = r.header("retry-after").expect("Retry-After");
    let secs: u64 = v
        .parse()
        .unwrap_or_else(|_| panic!("integer seconds: {v:?}"));
    assert!(secs > 0 && secs <= 900, "within the window: {secs}");
    assert!(r.set_cookies().is_empty());
    secs
}

async fn fail(app: &TestApp, username: &str, times: usize) {
    for _ in 0..times {
        let r = app.login_attempt(username, WRONG).await;
        assert_problem(&r, 401, "invalid_credentials");
    }
}

#[tokio::test]
async fn after_the_account_limit_even_the_right_password_is_429_with_retry_after() {
    let app = TestApp::spawn_with(limits).await;
    app.create_user("alice", PASSWORD).await;
    fail(&app, "alice", 3).await;
    let r = app.login_attempt("alice", PASSWORD).await;
    assert_eq!(retry_after(&r), 900);
    // Wrong passwords are refused the same way, without being checked.
    let r = app.login_attempt("alice", WRONG).await;
    assert_eq!(retry_after(&r), 900);
    // Retry-After counts down with the clock.
    app.advance(MINUTE);
    let r = app.login_attempt("ALICE", PASSWORD).await;
    assert_eq!(retry_after(&r), 840, "the account key ignores case");
}

#[tokio::test]
async fn another_account_from_the_same_address_works_until_the_address_limit() {
    let app = TestApp::spawn_with(limits).await;
    app.create_user("alice", PASSWORD).await;
    app.create_user("bob", PASSWORD).await;
    app.create_user("carol", PASSWORD).await;
    fail(&app, "alice", 3).await;
    app.login("bob", PASSWORD, false).await;
    // Two more failures: the address has five.
    fail(&app, "bob", 2).await;
    let r = app.login_attempt("bob", PASSWORD).await;
    retry_after(&r);
    let r = app.login_attempt("carol", PASSWORD).await;
    retry_after(&r);
}

#[tokio::test]
async fn the_lockout_ends_by_itself_when_the_window_passes() {
    let app = TestApp::spawn_with(limits).await;
    app.create_user("alice", PASSWORD).await;
    fail(&app, "alice", 3).await;
    app.advance(15 * MINUTE - Duration::from_secs(1));
    let r = app.login_attempt("alice", PASSWORD).await;
    assert_eq!(retry_after(&r), 1);
    app.advance(Duration::from_secs(1));
    app.login("alice", PASSWORD, false).await;
}

#[tokio::test]
async fn a_successful_login_clears_the_accounts_failures() {
    let app = TestApp::spawn_with(limits).await;
    app.create_user("alice", PASSWORD).await;
    fail(&app, "alice", 2).await;
    app.login("alice", PASSWORD, false).await;
    // Without the reset these would make four in the window.
    fail(&app, "alice", 2).await;
    app.login("alice", PASSWORD, false).await;
}

#[tokio::test]
async fn the_limit_survives_a_restart() {
    let app = TestApp::spawn_with(limits).await;
    app.create_user("alice", PASSWORD).await;
    fail(&app, "alice", 3).await;
    let app = app.restart().await;
    let r = app.login_attempt("alice", PASSWORD).await;
    assert_eq!(retry_after(&r), 900);
}

#[tokio::test]
async fn the_limit_is_shared_by_servers_on_the_same_store() {
    let one = TestApp::spawn_with(limits).await;
    let two = one.spawn_beside().await;
    one.create_user("alice", PASSWORD).await;
    fail(&one, "alice", 2).await;
    fail(&two, "alice", 1).await;
    retry_after(&one.login_attempt("alice", PASSWORD).await);
    retry_after(&two.login_attempt("alice", PASSWORD).await);
}

#[tokio::test]
async fn unknown_and_malformed_usernames_count_toward_the_address_limit() {
    let app = TestApp::spawn_with(limits).await;
    app.create_user("alice", PASSWORD).await;
    for name in ["ghost1", "ghost2", "ghost3", "not a name!", ""] {
        let r = app.login_attempt(name, WRONG).await;
        assert_problem(&r, 401, "invalid_credentials");
    }
    let r = app.login_attempt("alice", PASSWORD).await;
    retry_after(&r);
}

#[tokio::test]
async fn wrong_current_passwords_on_password_change_are_throttled_too() {
    let app = TestApp::spawn_with(limits).await;
    let alice = app.user("alice").await;
    let change = |current: &str| {
        app.post("/v1/password")
            .authed(&alice)
            .json(&json!({"current_password": current, "new_password": "next-passphrase"}))
    };
    for _ in 0..3 {
        let r = app.send(change(WRONG)).await;
        assert_problem(&r, 401, "invalid_credentials");
    }
    let r = app.send(change(PASSWORD)).await;
    retry_after(&r);
    // Neither the password nor the session changed.
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
    app.advance(15 * MINUTE);
    app.login("alice", PASSWORD, false).await;
}

#[tokio::test]
async fn a_burst_of_concurrent_guesses_gets_no_more_tries_than_the_account_limit() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.http.login_limits.per_account = 3;
        cfg.http.login_limits.per_address = 1000;
        cfg.http.login_limits.window = 15 * MINUTE;
    })
    .await;
    app.create_user("alice", PASSWORD).await;
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..12 {
        let rb = app.login_request("alice", &format!("guess-number-{i}"), None);
        burst.spawn(async move { rb.send().await.expect("sent").status().as_u16() });
    }
    let mut verified = 0;
    let mut limited = 0;
    while let Some(status) = burst.join_next().await {
        match status.unwrap() {
            401 => verified += 1,
            429 => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        verified <= 3,
        "{verified} guesses were checked against the password (limit 3), {limited} refused"
    );
}
