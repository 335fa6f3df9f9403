//! `/v1/token/refresh`: rotation on every use, the grace window for a
//! spent token, reuse detection that kills the family, exactly-once
//! rotation under concurrency, and the family's absolute lifetime.

use std::collections::HashSet;
use std::time::Duration;

use latchkey::Config;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    MINUTE, PASSWORD, Pair, TestApp, assert_invalid_grant, assert_problem, pair_from,
};
use crate::jwt;

const SECOND: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);
const DAY: Duration = Duration::from_secs(24 * 3600);

#[tokio::test]
async fn refreshing_rotates_the_pair_and_the_new_refresh_token_refreshes_in_turn() {
    let app = TestApp::spawn().await;
    let first = app.token_user("alice").await;
    app.advance(MINUTE);
    let r = app.refresh_attempt(&first.refresh).await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.json()["token_type"], "Bearer");
    assert_eq!(r.json()["expires_in"], 300);
    let second = pair_from(&r);
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    assert_eq!(second.refresh.len(), 43);
    app.assert_bearer_works(&second.access).await;
    // Same user and family; a new token id, issued now.
    let (a, b) = (jwt::claims(&first.access), jwt::claims(&second.access));
    assert_eq!(b["sub"], a["sub"]);
    assert_eq!(b["sid"], a["sid"]);
    assert_ne!(b["jti"], a["jti"]);
    assert_eq!(b["iat"].as_i64().unwrap(), a["iat"].as_i64().unwrap() + 60);
    // Rotation does not revoke the previous access token; it just expires.
    app.assert_bearer_works(&first.access).await;
    let third = app.refresh(&second.refresh).await;
    assert_ne!(third.refresh, second.refresh);
    app.assert_bearer_works(&third.access).await;
}

#[tokio::test]
async fn a_spent_refresh_token_within_the_grace_window_gets_the_very_same_pair() {
    let app = TestApp::spawn().await;
    let first = app.token_user("alice").await;
    let r = app.refresh_attempt(&first.refresh).await;
    let second = pair_from(&r);
    // Two tabs refreshing at once: the late one gets what the first got.
    let again = app.refresh(&first.refresh).await;
    assert_eq!(again, second, "byte-identical access and refresh tokens");
    app.advance(10 * SECOND - MS);
    let r = app.refresh_attempt(&first.refresh).await;
    assert_eq!(pair_from(&r), second);
    // The same token, 9.999 s older: 291 whole seconds left.
    assert_eq!(r.json()["expires_in"], 291);
    // The family is alive: the successor rotates normally.
    let third = app.refresh(&second.refresh).await;
    app.assert_bearer_works(&third.access).await;
}

#[tokio::test]
async fn a_spent_refresh_token_at_the_end_of_the_grace_window_revokes_its_whole_family() {
    let app = TestApp::spawn().await;
    let first = app.token_user("alice").await;
    let elsewhere = app.token_login("alice", PASSWORD).await;
    let second = app.refresh(&first.refresh).await;
    app.advance(10 * SECOND);
    // The thief (or the victim) presents the spent token again.
    assert_invalid_grant(&app.refresh_attempt(&first.refresh).await);
    // Everything the family issued is dead at once ...
    assert_invalid_grant(&app.refresh_attempt(&second.refresh).await);
    app.assert_bearer_refused(&first.access).await;
    app.assert_bearer_refused(&second.access).await;
    // ... and stays dead, grace or not.
    assert_invalid_grant(&app.refresh_attempt(&first.refresh).await);
    // The user's other login is a different family and unaffected.
    app.assert_bearer_works(&elsewhere.access).await;
    app.refresh(&elsewhere.refresh).await;
    // The revocation is in the store: a restarted server agrees.
    let app = app.restart().await;
    app.assert_bearer_refused(&second.access).await;
    assert_invalid_grant(&app.refresh_attempt(&second.refresh).await);
}

#[tokio::test]
async fn twenty_concurrent_refreshes_of_one_token_yield_one_new_pair_and_no_errors() {
    let app = TestApp::spawn().await;
    let first = app.token_user("alice").await;
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let rb = app.refresh_request(&first.refresh);
        burst.spawn(async move {
            let res = rb.send().await.expect("sent");
            let status = res.status();
            (status, res.text().await.expect("body"))
        });
    }
    let mut pairs = HashSet::new();
    while let Some(done) = burst.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        pairs.insert((
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(pairs.len(), 1, "exactly one rotation: {pairs:?}");
    let (access, refresh) = pairs.into_iter().next().unwrap();
    assert_ne!(refresh, first.refresh);
    // The family was not mistaken for a replay.
    app.assert_bearer_works(&access).await;
    app.refresh(&refresh).await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_on_two_servers_rotate_it_once() {
    let one = TestApp::spawn().await;
    let two = one.spawn_beside().await;
    let first = one.token_user("alice").await;
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { &one } else { &two };
        let rb = node.refresh_request(&first.refresh);
        burst.spawn(async move {
            let res = rb.send().await.expect("sent");
            (res.status(), res.text().await.expect("body"))
        });
    }
    let mut refreshes = HashSet::new();
    while let Some(done) = burst.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        refreshes.insert(body["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(refreshes.len(), 1, "{refreshes:?}");
    let refresh = refreshes.into_iter().next().unwrap();
    two.refresh(&refresh).await;
}

#[tokio::test]
async fn within_the_grace_window_an_es256_server_hands_back_the_same_token() {
    // ECDSA signatures are randomised: "the same pair" needs the server to
    // return the token it issued, not a fresh signature over the same claims.
    let app = TestApp::spawn_with(|cfg: &mut Config| {
        cfg.algorithm = latchkey_tokens::Algorithm::ES256;
    })
    .await;
    let first = app.token_user("alice").await;
    let second = app.refresh(&first.refresh).await;
    let again = app.refresh(&first.refresh).await;
    assert_eq!(again.refresh, second.refresh);
    assert_eq!(jwt::claims(&again.access), jwt::claims(&second.access));
    assert_eq!(again.access, second.access, "byte-identical access token");
}

#[tokio::test]
async fn refreshing_often_does_not_extend_the_familys_absolute_lifetime() {
    let app = TestApp::spawn_with(|cfg: &mut Config| {
        cfg.http.tokens.refresh_ttl = 2 * 60 * MINUTE;
    })
    .await;
    let mut pair = app.token_user("alice").await;
    // Every 4 minutes for 2 hours, the last one a millisecond before the end.
    for _ in 0..29 {
        app.advance(4 * MINUTE);
        pair = app.refresh(&pair.refresh).await;
    }
    app.advance(4 * MINUTE - MS);
    pair = app.refresh(&pair.refresh).await;
    app.advance(MS);
    assert_invalid_grant(&app.refresh_attempt(&pair.refresh).await);
    // The family's end revokes nothing: the last access token runs out
    // on its own.
    app.assert_bearer_works(&pair.access).await;
    let login = app.token_login("alice", PASSWORD).await;
    app.refresh(&login.refresh).await;
}

#[tokio::test]
async fn a_family_lives_30_days_from_login_by_default() {
    let app = TestApp::spawn().await;
    let mut pair: Pair = app.token_user("alice").await;
    for _ in 0..29 {
        app.advance(DAY);
        pair = app.refresh(&pair.refresh).await;
    }
    app.advance(DAY - SECOND);
    pair = app.refresh(&pair.refresh).await;
    app.advance(SECOND);
    assert_invalid_grant(&app.refresh_attempt(&pair.refresh).await);
}

#[tokio::test]
async fn garbage_refresh_tokens_are_401_invalid_grant_never_5xx() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let unknown = jwt::b64(&[7u8; 32]);
    let long = "A".repeat(10_000);
    let garbage: &[&str] = &[
        "",
        " ",
        "x",
        unknown.as_str(),
        &pair.refresh[..42],
        &format!("{}A", pair.refresh),
        &format!("{}=", pair.refresh),
        &format!(" {} ", pair.refresh),
        &pair.refresh.replace(|c: char| c.is_ascii_lowercase(), "+"),
        &pair.access,
        "💥💥💥💥💥💥💥💥💥💥💥",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
        long.as_str(),
        "\0",
    ];
    for token in garbage {
        let r = app.refresh_attempt(token).await;
        assert_invalid_grant(&r);
        assert!(!r.body.contains("access_token"), "{}", r.body);
    }
    // None of that spent or harmed the real token.
    app.refresh(&pair.refresh).await;
}

#[tokio::test]
async fn a_malformed_refresh_request_is_a_4xx_problem() {
    let app = TestApp::spawn().await;
    let r = app
        .send(app.post("/v1/token/refresh").json(&json!({})))
        .await;
    assert_problem(&r, 422, "invalid_request");
    let wrong_type = json!({"refresh_token": 42});
    let r = app
        .send(app.post("/v1/token/refresh").json(&wrong_type))
        .await;
    assert_problem(&r, 422, "invalid_request");
    let r = app
        .send(
            app.post("/v1/token/refresh")
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    assert_problem(&r, 400, "malformed_json");
    let r = app
        .send(
            app.post("/v1/token/refresh")
                .form(&[("refresh_token", "abc")]),
        )
        .await;
    assert_problem(&r, 415, "unsupported_media_type");
}
