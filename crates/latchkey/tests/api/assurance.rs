//! Accounts without a password, and how a credential says its holder
//! signed in: `amr` and `auth_time` on sessions, `/v1/me`, access tokens,
//! forward auth, and step-up raising them.

use std::time::Duration;

use latchkey_auth::{Device, Method, Principal, Reauthenticate};
use latchkey_core::{Clock as _, SessionSecret, UserId, Username};
use latchkey_store::User;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Login, PASSWORD, RequestExt as _, START, TestApp, assert_problem, jwt_claims,
};

const START_SECS: i64 = START.unix_seconds();

/// `keyholder`, an account with no password (a passkey's, say).
async fn passwordless(app: &TestApp) -> User {
    let user = User {
        id: UserId::from_random([42; 16]),
        username: Username::parse("keyholder").unwrap(),
        password_hash: None,
        created_at: app.clock.now(),
        disabled_at: None,
    };
    app.state.store.create_user(&user).await.unwrap();
    user
}

/// A cookie session for `user`, issued as a passkey sign-in would be.
async fn session_of(app: &TestApp, user: User) -> Login {
    let principal = Principal {
        multi_factor: true,
        ..Principal::new(
            user,
            vec![Method::Passkey { hardware: false }],
            app.clock.now(),
        )
    };
    let issued = app
        .state
        .auth
        .issue_session(&principal, None, false, Device::default())
        .await
        .unwrap();
    let cookie = issued.secret.encode();
    let csrf = app.state.csrf.token(issued.session.handle.as_str());
    app.secret(&cookie);
    app.secret(&csrf);
    Login {
        cookie_name: app.cookie_name,
        cookie,
        set_cookie: String::new(),
        csrf,
        user_id: principal.user.id.to_string(),
        username: principal.user.username.as_str().to_owned(),
    }
}

/// A problem body without what differs per request.
fn answer(r: &crate::helpers::Reply) -> (StatusCode, Option<String>, Value) {
    let mut body = r.json();
    if let Some(o) = body.as_object_mut() {
        o.remove("request_id");
        o.remove("instance");
    }
    (r.status, r.header("content-type").map(str::to_owned), body)
}

#[tokio::test]
async fn a_user_without_a_password_cannot_log_in_and_is_answered_like_a_wrong_password() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    passwordless(&app).await;
    for password in [PASSWORD, "any-other-password", ""] {
        let none = app.login_attempt("keyholder", password).await;
        assert_problem(&none, 401, "invalid_credentials");
        let wrong = app.login_attempt("alice", "not-the-password").await;
        assert_eq!(answer(&none), answer(&wrong));
        assert!(none.set_cookies().is_empty());
        let tokens = app.token_login_attempt("keyholder", password).await;
        let wrong = app.token_login_attempt("alice", "not-the-password").await;
        assert_eq!(answer(&tokens), answer(&wrong));
    }
}

#[tokio::test]
async fn the_password_change_of_an_account_without_a_password_is_like_a_wrong_current_password() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let keyholder = session_of(&app, passwordless(&app).await).await;
    let change = |current: &str| {
        app.secret("a-brand-new-password");
        app.post("/v1/password")
            .json(&json!({"current_password": current, "new_password": "a-brand-new-password"}))
    };
    let none = app.send(change("whatever-it-was").authed(&keyholder)).await;
    let wrong = app.send(change("not-the-password").authed(&alice)).await;
    assert_problem(&none, 401, "invalid_credentials");
    assert_eq!(answer(&none), answer(&wrong));
    // Nothing changed: the account still has no password, the session lives.
    let stored = app
        .state
        .store
        .user_by_name(&Username::parse("keyholder").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash, None);
    let r = app.send(app.get("/v1/session").cookie_of(&keyholder)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["amr"], json!(["swk", "mfa"]));
}

#[tokio::test]
async fn sessions_and_me_show_amr_and_auth_time() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.advance(Duration::from_secs(90));
    let r = app.send(app.get("/v1/session").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let body = r.json();
    assert_eq!(body["amr"], json!(["pwd"]));
    assert_eq!(body["auth_time"], json!(START_SECS));
    let me = app.send(app.get("/v1/me").cookie_of(&alice)).await;
    assert_eq!(me.json()["amr"], json!(["pwd"]));
    assert_eq!(me.json()["auth_time"], json!(START_SECS));
    let listed = app
        .state
        .store
        .list_sessions(None, app.clock.now())
        .await
        .unwrap();
    assert_eq!(listed[0].assurance.amr, ["pwd"]);
    assert_eq!(listed[0].assurance.auth_time, START);
}

#[tokio::test]
async fn access_tokens_carry_amr_and_auth_time_and_a_refresh_keeps_them() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let claims = jwt_claims(&pair.access);
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["auth_time"], json!(START_SECS));
    app.advance(Duration::from_secs(120));
    let next = app.refresh(&pair.refresh).await;
    let claims = jwt_claims(&next.access);
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["auth_time"], json!(START_SECS));
    assert_eq!(claims["iat"], json!(START_SECS + 120));
    let me = app.me_bearer(&next.access).await;
    assert_eq!(me.json()["amr"], json!(["pwd"]));
    assert_eq!(me.json()["auth_time"], json!(START_SECS));
}

#[tokio::test]
async fn step_up_raises_a_family_and_its_next_access_token_carries_it() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let family = jwt_claims(&pair.access)["sid"].as_str().unwrap().to_owned();
    app.advance(Duration::from_secs(600));
    assert!(!app.state.auth.token_is_recent(Some(START_SECS)));
    let raised = app
        .state
        .auth
        .reauthenticated(Reauthenticate::Family(&family), &[Method::Totp], false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raised.amr, ["pwd", "otp", "mfa"]);
    assert!(app.state.auth.recently_authenticated(&raised));
    let next = app.refresh(&pair.refresh).await;
    let claims = jwt_claims(&next.access);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["auth_time"], json!(START_SECS + 600));
    assert!(app.state.auth.token_is_recent(Some(START_SECS + 600)));
}

#[tokio::test]
async fn step_up_raises_a_session_at_once_and_becomes_old_after_five_minutes() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    // Read once, so this node caches the session.
    app.send(app.get("/v1/session").cookie_of(&alice)).await;
    app.advance(Duration::from_secs(30));
    let secret = SessionSecret::parse(&alice.cookie).unwrap().hash();
    let raised = app
        .state
        .auth
        .reauthenticated(
            Reauthenticate::Session(&secret),
            &[Method::Passkey { hardware: true }],
            true,
        )
        .await
        .unwrap()
        .unwrap();
    // As `POST /v1/mfa/step-up` does: this node forgets its cached copy.
    app.state.forget_session(secret.as_bytes());
    let r = app.send(app.get("/v1/session").cookie_of(&alice)).await;
    assert_eq!(r.json()["amr"], json!(["pwd", "hwk", "mfa"]), "{}", r.body);
    assert_eq!(r.json()["auth_time"], json!(START_SECS + 30));
    assert!(app.state.auth.recently_authenticated(&raised));
    app.advance(Duration::from_secs(299));
    assert!(app.state.auth.recently_authenticated(&raised));
    app.advance(Duration::from_secs(1));
    assert!(!app.state.auth.recently_authenticated(&raised));
}

#[tokio::test]
async fn forward_auth_hands_amr_and_auth_time_upstream() {
    let app = TestApp::spawn_with(crate::forward_auth::behind_proxy).await;
    let alice = app.user("alice").await;
    let r = app.send(app.get("/v1/verify").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("x-latchkey-amr"), Some("pwd"));
    let start = START_SECS.to_string();
    assert_eq!(r.header("x-latchkey-auth-time"), Some(start.as_str()));
    let token = r
        .header("authorization")
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_owned();
    assert_eq!(jwt_claims(&token)["amr"], json!(["pwd"]));
    assert_eq!(jwt_claims(&token)["auth_time"], json!(START_SECS));
}
