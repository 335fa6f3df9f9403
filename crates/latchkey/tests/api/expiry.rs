//! Session expiry, checked at exact edges by moving the clock: idle
//! timeout (sliding), absolute timeout, and throttled last-seen writes.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{
    Login, MINUTE, PASSWORD, RequestExt as _, START_RFC3339, TestApp, assert_problem, at,
};

const MS: Duration = Duration::from_millis(1);

async fn current(app: &TestApp, login: &Login) -> serde_json::Value {
    let r = app.send(app.get("/v1/session").cookie_of(login)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["session"].clone()
}

/// Expects `401` with a `Set-Cookie` that clears the session cookie.
async fn assert_expired(app: &TestApp, login: &Login) {
    let r = app.send(app.get("/v1/session").cookie_of(login)).await;
    assert_problem(&r, 401, "unauthenticated");
    let c = r.the_set_cookie();
    assert_eq!(c.name, login.cookie_name);
    assert!(c.is_clearing(), "{c:?}");
}

#[tokio::test]
async fn an_unused_session_lives_until_the_idle_timeout_and_not_a_millisecond_longer() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let early = app.login("alice", PASSWORD, false).await;
    let exact = app.login("alice", PASSWORD, false).await;
    app.advance(30 * MINUTE - MS);
    current(&app, &early).await;
    app.advance(MS);
    assert_expired(&app, &exact).await;
    // And once refused it stays refused.
    let r = app.send(app.get("/v1/session").cookie_of(&exact)).await;
    assert_problem(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn activity_slides_the_idle_timeout() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.advance(29 * MINUTE + Duration::from_secs(59));
    let s = current(&app, &alice).await;
    assert_eq!(
        s["expires_at"],
        at(59 * MINUTE + Duration::from_secs(59)),
        "the idle expiry moved with the request"
    );
    app.advance(29 * MINUTE);
    let s = current(&app, &alice).await;
    assert_eq!(s["created_at"], START_RFC3339);
    assert_eq!(s["last_seen_at"], at(58 * MINUTE + Duration::from_secs(59)));
    // Idle for the whole timeout since the last request: ended.
    app.advance(30 * MINUTE);
    assert_expired(&app, &alice).await;
}

#[tokio::test]
async fn idle_expiry_is_enforced_server_side_for_remembered_sessions_too() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let remembered = app.login("alice", PASSWORD, true).await;
    app.advance(30 * MINUTE);
    assert_expired(&app, &remembered).await;
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_timeout_however_active() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.http.sessions.idle_timeout = 30 * MINUTE;
        cfg.http.sessions.absolute_timeout = 60 * MINUTE;
    })
    .await;
    let alice = app.user("alice").await;
    for _ in 0..5 {
        app.advance(10 * MINUTE);
        current(&app, &alice).await;
    }
    // At +50 min the idle expiry would be +80 min; it is capped.
    let s = current(&app, &alice).await;
    assert_eq!(s["expires_at"], at(60 * MINUTE));
    app.advance(10 * MINUTE - MS);
    current(&app, &alice).await;
    app.advance(MS);
    assert_expired(&app, &alice).await;
}

#[tokio::test]
async fn a_remembered_session_also_ends_at_its_absolute_timeout() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.http.sessions.idle_timeout = 30 * MINUTE;
        cfg.http.sessions.absolute_timeout = 60 * MINUTE;
    })
    .await;
    app.create_user("alice", PASSWORD).await;
    let alice = app.login("alice", PASSWORD, true).await;
    for _ in 0..6 {
        app.advance(10 * MINUTE);
    }
    assert_expired(&app, &alice).await;
}

#[tokio::test]
async fn last_seen_is_written_at_most_once_a_minute() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.advance(Duration::from_secs(10));
    let s = current(&app, &alice).await;
    assert_eq!(s["last_seen_at"], START_RFC3339, "not written at +10 s");
    assert_eq!(s["expires_at"], at(30 * MINUTE));
    app.advance(Duration::from_secs(51));
    let s = current(&app, &alice).await;
    assert_eq!(
        s["last_seen_at"],
        at(Duration::from_secs(61)),
        "written at +61 s"
    );
    assert_eq!(s["expires_at"], at(Duration::from_secs(61) + 30 * MINUTE));
    app.advance(Duration::from_secs(30));
    let s = current(&app, &alice).await;
    assert_eq!(
        s["last_seen_at"],
        at(Duration::from_secs(61)),
        "not at +91 s"
    );
    // The listing reads the store: it agrees.
    let list = app.send(app.get("/v1/sessions").cookie_of(&alice)).await;
    assert_eq!(
        list.json()["sessions"][0]["last_seen_at"],
        at(Duration::from_secs(61))
    );
}

#[tokio::test]
async fn expired_sessions_leave_the_listing() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let _old = app.login("alice", PASSWORD, false).await;
    app.advance(20 * MINUTE);
    let young = app.login("alice", PASSWORD, false).await;
    app.advance(15 * MINUTE);
    let list = app.send(app.get("/v1/sessions").cookie_of(&young)).await;
    let sessions = list.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["current"], true);
}
