//! `GET /v1/me`: who the credential belongs to.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{RequestExt as _, TestApp, assert_problem};

#[tokio::test]
async fn me_names_the_user_and_says_the_credential_was_a_session() {
    let app = TestApp::spawn().await;
    let alice = app.user("Alice").await;
    let r = app.send(app.get("/v1/me").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        r.json(),
        json!({
            "user": {"id": alice.user_id, "username": "alice"},
            "auth": "session",
            "amr": ["pwd"],
            "auth_time": crate::helpers::START.unix_seconds(),
        })
    );
}

#[tokio::test]
async fn me_without_a_credential_is_401_with_www_authenticate() {
    let app = TestApp::spawn().await;
    let r = app.send(app.get("/v1/me")).await;
    assert_problem(&r, 401, "unauthenticated");
    assert!(r.header("www-authenticate").is_some(), "{:?}", r.headers);
    // A logged-out cookie is no credential either.
    let alice = app.user("alice").await;
    app.send(app.post("/v1/session/logout").authed(&alice))
        .await;
    let r = app.send(app.get("/v1/me").cookie_of(&alice)).await;
    assert_problem(&r, 401, "unauthenticated");
    assert!(r.header("www-authenticate").is_some());
}
