//! `POST /v1/token/revoke` (RFC 7009): access tokens and refresh
//! families end at once, unknown tokens are `200`, and revocations
//! survive a restart.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{MINUTE, PASSWORD, Reply, TestApp, assert_invalid_grant, assert_problem};
use crate::jwt;

/// RFC 7009 §2.2: `200`, nothing to read, nothing to cache.
fn assert_revoked_ok(r: &Reply) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, "", "no body");
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn revoking_an_access_token_by_form_ends_it_at_once() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let other = app.token_login("alice", PASSWORD).await;
    app.assert_bearer_works(&pair.access).await;
    assert_revoked_ok(&app.revoke_token(&pair.access).await);
    app.assert_bearer_refused(&pair.access).await;
    // Only that token: the user's other login is untouched.
    app.assert_bearer_works(&other.access).await;
    // Revoking it again is still 200.
    assert_revoked_ok(&app.revoke_token(&pair.access).await);
}

#[tokio::test]
async fn revoking_an_access_token_by_json_ends_it_at_once() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let r = app
        .send(
            app.post("/v1/token/revoke")
                .json(&json!({"token": pair.access})),
        )
        .await;
    assert_revoked_ok(&r);
    app.assert_bearer_refused(&pair.access).await;
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_and_the_familys_access_tokens() {
    let app = TestApp::spawn().await;
    let first = app.token_user("alice").await;
    let other = app.token_login("alice", PASSWORD).await;
    let second = app.refresh(&first.refresh).await;
    assert_revoked_ok(&app.revoke_token(&second.refresh).await);
    assert_invalid_grant(&app.refresh_attempt(&second.refresh).await);
    app.assert_bearer_refused(&first.access).await;
    app.assert_bearer_refused(&second.access).await;
    // Not even the grace window brings the spent token back.
    assert_invalid_grant(&app.refresh_attempt(&first.refresh).await);
    // Another family of the same user lives on.
    app.assert_bearer_works(&other.access).await;
    app.refresh(&other.refresh).await;
}

#[tokio::test]
async fn revoking_a_spent_refresh_token_still_ends_its_family() {
    // A client that kept only an old refresh token can still log out.
    let app = TestApp::spawn().await;
    let first = app.token_user("alice").await;
    let second = app.refresh(&first.refresh).await;
    app.advance(MINUTE);
    assert_revoked_ok(&app.revoke_token(&first.refresh).await);
    assert_invalid_grant(&app.refresh_attempt(&second.refresh).await);
    app.assert_bearer_refused(&second.access).await;
}

#[tokio::test]
async fn unknown_garbage_and_dead_tokens_are_revoked_with_200() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let expired = app.token_login("alice", PASSWORD).await;
    let stranger = TestApp::spawn().await.token_user("alice").await;
    app.advance(5 * MINUTE);
    let unknown_refresh = jwt::b64(&[9u8; 32]);
    let long = "A".repeat(20_000);
    let tokens: &[&str] = &[
        &unknown_refresh,
        "garbage",
        "",
        "a.b.c",
        &expired.access,
        &stranger.access,
        &stranger.refresh,
        "💥",
        &long,
    ];
    for token in tokens {
        assert_revoked_ok(&app.revoke_token(token).await);
        let r = app
            .send(
                app.post("/v1/token/revoke")
                    .json(&json!({ "token": token })),
            )
            .await;
        assert_revoked_ok(&r);
    }
    // None of that touched the live family.
    app.refresh(&pair.refresh).await;
    // A request without a token at all is not a revocation request.
    let r = app
        .send(app.post("/v1/token/revoke").form(&[("tok", "x")]))
        .await;
    assert_problem(&r, 422, "invalid_request");
    let r = app
        .send(app.post("/v1/token/revoke").json(&json!({})))
        .await;
    assert_problem(&r, 422, "invalid_request");
}

#[tokio::test]
async fn revocations_survive_a_restart() {
    let app = TestApp::spawn().await;
    let access_only = app.token_user("alice").await;
    let family = app.token_login("alice", PASSWORD).await;
    let kept = app.token_login("alice", PASSWORD).await;
    assert_revoked_ok(&app.revoke_token(&access_only.access).await);
    assert_revoked_ok(&app.revoke_token(&family.refresh).await);
    app.advance(Duration::from_secs(30));
    let app = app.restart().await;
    app.assert_bearer_refused(&access_only.access).await;
    app.assert_bearer_refused(&family.access).await;
    assert_invalid_grant(&app.refresh_attempt(&family.refresh).await);
    app.assert_bearer_works(&kept.access).await;
    // And on a second node on the same store, started after the fact.
    let beside = app.spawn_beside().await;
    beside.assert_bearer_refused(&access_only.access).await;
    beside.assert_bearer_refused(&family.access).await;
    beside.assert_bearer_works(&kept.access).await;
}
