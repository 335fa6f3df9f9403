//! Cookie sessions and bearer tokens of one user, together: what "log out
//! everywhere" and a password change end, whichever credential asked.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, RequestExt as _, TestApp, assert_invalid_grant, assert_problem};

const NEW_PASSWORD: &str = "a-brand-new-passphrase";

fn change_body() -> serde_json::Value {
    json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})
}

#[tokio::test]
async fn log_out_everywhere_revokes_the_users_bearer_tokens_and_refresh_families() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let phone = app.token_login("alice", PASSWORD).await;
    let laptop = app.token_login("alice", PASSWORD).await;
    let laptop_next = app.refresh(&laptop.refresh).await;
    let bob = app.token_user("bob").await;
    let r = app.send(app.delete("/v1/sessions").authed(&alice)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    for access in [&phone.access, &laptop.access, &laptop_next.access] {
        app.assert_bearer_refused(access).await;
    }
    assert_invalid_grant(&app.refresh_attempt(&phone.refresh).await);
    assert_invalid_grant(&app.refresh_attempt(&laptop_next.refresh).await);
    assert_eq!(app.session_status(&alice).await, StatusCode::UNAUTHORIZED);
    // Other users are untouched; alice can log in again at once.
    app.assert_bearer_works(&bob.access).await;
    let fresh = app.token_login("alice", PASSWORD).await;
    app.assert_bearer_works(&fresh.access).await;
    // Still so after a restart.
    let app = app.restart().await;
    app.assert_bearer_refused(&phone.access).await;
    app.assert_bearer_works(&fresh.access).await;
}

#[tokio::test]
async fn logging_out_one_cookie_session_leaves_bearer_tokens_alone() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let pair = app.token_login("alice", PASSWORD).await;
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.assert_bearer_works(&pair.access).await;
    app.refresh(&pair.refresh).await;
}

#[tokio::test]
async fn a_password_change_by_cookie_revokes_every_bearer_family_of_the_user() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let one = app.token_login("alice", PASSWORD).await;
    let two = app.token_login("alice", PASSWORD).await;
    let r = app
        .send(app.post("/v1/password").authed(&alice).json(&change_body()))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    for pair in [&one, &two] {
        app.assert_bearer_refused(&pair.access).await;
        assert_invalid_grant(&app.refresh_attempt(&pair.refresh).await);
    }
    // The calling session stays.
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
    let r = app.token_login_attempt("alice", PASSWORD).await;
    assert_problem(&r, 401, "invalid_credentials");
    app.token_login("alice", NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_password_change_by_bearer_keeps_the_callers_family_and_ends_the_rest() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let caller = app.token_login("alice", PASSWORD).await;
    let other = app.token_login("alice", PASSWORD).await;
    // No X-CSRF-Token: a bearer token is not sent by browsers on their own.
    let r = app
        .send(
            app.post("/v1/password")
                .bearer(&caller.access)
                .json(&change_body()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // The caller's token and family keep working ...
    app.assert_bearer_works(&caller.access).await;
    let next = app.refresh(&caller.refresh).await;
    app.assert_bearer_works(&next.access).await;
    // ... every other family and every cookie session end.
    app.assert_bearer_refused(&other.access).await;
    assert_invalid_grant(&app.refresh_attempt(&other.refresh).await);
    assert_eq!(app.session_status(&alice).await, StatusCode::UNAUTHORIZED);
    let r = app.send(app.get("/v1/me").cookie_of(&alice)).await;
    assert_problem(&r, 401, "unauthenticated");
}

#[tokio::test]
async fn a_password_change_by_bearer_with_a_wrong_current_password_changes_nothing() {
    let app = TestApp::spawn().await;
    let caller = app.token_user("alice").await;
    let other = app.token_login("alice", PASSWORD).await;
    let r = app
        .send(
            app.post("/v1/password")
                .bearer(&caller.access)
                .json(&json!({
                    "current_password": "not-the-password", "new_password": NEW_PASSWORD
                })),
        )
        .await;
    assert_problem(&r, 401, "invalid_credentials");
    app.assert_bearer_works(&other.access).await;
    app.token_login("alice", PASSWORD).await;
}

#[tokio::test]
async fn a_revoked_bearer_token_cannot_change_the_password() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    app.revoke_token(&pair.access).await;
    let r = app
        .send(
            app.post("/v1/password")
                .bearer(&pair.access)
                .json(&change_body()),
        )
        .await;
    assert_problem(&r, 401, "invalid_token");
    app.token_login("alice", PASSWORD).await;
}
