//! Accounts: `POST /v1/register` and `POST /v1/password`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, RequestExt as _, TestApp, assert_problem};

const NEW_PASSWORD: &str = "a-brand-new-passphrase";

#[tokio::test]
async fn registering_returns_201_with_the_id_and_the_lower_cased_username() {
    let app = TestApp::spawn().await;
    let r = app.register("Alice.Smith", PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let body = r.json();
    let obj = body.as_object().unwrap();
    assert_eq!(obj.len(), 2, "exactly id and username: {body}");
    assert_eq!(body["username"], "alice.smith");
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a hyphenated UUID: {id}");
    // The account logs in under either case.
    let login = app.login("ALICE.smith", PASSWORD, false).await;
    assert_eq!(login.user_id, id);
    assert_eq!(login.username, "alice.smith");
    app.assert_no_secret_leaked();
}

#[tokio::test]
async fn a_taken_username_is_409_even_in_another_case() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let again = app.register("alice", "another-good-password").await;
    assert_problem(&again, 409, "username_taken");
    let upper = app.register("ALICE", "another-good-password").await;
    assert_problem(&upper, 409, "username_taken");
    // The original password still works: nothing was overwritten.
    app.login("alice", PASSWORD, false).await;
}

#[tokio::test]
async fn passwords_shorter_than_8_or_longer_than_256_characters_are_422() {
    let app = TestApp::spawn().await;
    let cases = [
        ("seven", "abcdefg".to_owned()),
        ("ascii257", "a".repeat(257)),
        ("multibyte257", "é".repeat(257)),
        // 7 characters but 14 bytes: characters are what count.
        ("multibyte7", "é".repeat(7)),
    ];
    for (name, pw) in cases {
        let r = app.register(name, &pw).await;
        assert_problem(&r, 422, "invalid_password");
        let login = app.login_attempt(name, &pw).await;
        assert_problem(&login, 401, "invalid_credentials");
    }
}

#[tokio::test]
async fn passwords_of_8_and_256_characters_are_accepted_counting_characters_not_bytes() {
    let app = TestApp::spawn().await;
    let cases = [
        ("eight", "abcdefgh".to_owned()),
        ("ascii256", "b".repeat(256)),
        // 256 characters, 512 bytes.
        ("multibyte256", "é".repeat(256)),
        // 4-byte characters: 256 characters, 1024 bytes.
        ("emoji256", "🔑".repeat(256)),
    ];
    for (name, pw) in cases {
        let r = app.register(name, &pw).await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.body);
        app.login(name, &pw, false).await;
    }
}

#[tokio::test]
async fn a_password_equal_to_the_username_is_422_whatever_its_case() {
    let app = TestApp::spawn().await;
    for pw in ["mallory.99", "Mallory.99", "MALLORY.99"] {
        let r = app.register("Mallory.99", pw).await;
        assert_problem(&r, 422, "invalid_password");
    }
}

#[tokio::test]
async fn a_password_containing_nul_is_422() {
    let app = TestApp::spawn().await;
    let r = app.register("nul", "pass\0word-long").await;
    assert_problem(&r, 422, "invalid_password");
}

#[tokio::test]
async fn invalid_usernames_are_422() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(65);
    for name in ["", long.as_str(), "al ice", "al\0ice", "ålice", "alice/"] {
        let r = app.register(name, PASSWORD).await;
        assert_problem(&r, 422, "invalid_username");
    }
    // 64 is the longest accepted.
    let r = app.register(&"a".repeat(64), PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn registration_disabled_in_config_is_403_and_creates_nothing() {
    let app = TestApp::spawn_with(|cfg| cfg.http.allow_registration = false).await;
    let r = app.register("alice", PASSWORD).await;
    assert_problem(&r, 403, "registration_disabled");
    let login = app.login_attempt("alice", PASSWORD).await;
    assert_problem(&login, 401, "invalid_credentials");
}

#[tokio::test]
async fn long_passwords_are_never_truncated() {
    let app = TestApp::spawn().await;
    let pw: String = (0..200)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    app.create_user("longpw", &pw).await;
    app.login("longpw", &pw, false).await;
    let mut last_changed = pw.clone();
    last_changed.pop();
    last_changed.push('!');
    let r = app.login_attempt("longpw", &last_changed).await;
    assert_problem(&r, 401, "invalid_credentials");
    let r = app.login_attempt("longpw", &pw[..199]).await;
    assert_problem(&r, 401, "invalid_credentials");
    let r = app.login_attempt("longpw", &format!("{pw}x")).await;
    assert_problem(&r, 401, "invalid_credentials");
}

fn change(app: &TestApp, current: &str, new: &str) -> reqwest::RequestBuilder {
    app.secret(current);
    app.secret(new);
    app.post("/v1/password")
        .json(&json!({ "current_password": current, "new_password": new }))
}

#[tokio::test]
async fn changing_the_password_is_204_and_only_the_new_password_logs_in() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let r = app
        .send(change(&app, PASSWORD, NEW_PASSWORD).authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(r.body.is_empty());
    let old = app.login_attempt("alice", PASSWORD).await;
    assert_problem(&old, 401, "invalid_credentials");
    app.login("alice", NEW_PASSWORD, false).await;
    app.assert_no_secret_leaked();
}

#[tokio::test]
async fn changing_the_password_with_a_wrong_current_password_is_401_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let r = app
        .send(change(&app, "not-the-password", NEW_PASSWORD).authed(&alice))
        .await;
    assert_problem(&r, 401, "invalid_credentials");
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
    app.login("alice", PASSWORD, false).await;
    let new = app.login_attempt("alice", NEW_PASSWORD).await;
    assert_problem(&new, 401, "invalid_credentials");
}

#[tokio::test]
async fn a_new_password_that_breaks_the_policy_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let too_long = "x".repeat(257);
    for bad in ["short", "ALICE", "nul\0in-the-middle", too_long.as_str()] {
        let r = app.send(change(&app, PASSWORD, bad).authed(&alice)).await;
        assert_problem(&r, 422, "invalid_password");
    }
    app.login("alice", PASSWORD, false).await;
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
}

#[tokio::test]
async fn changing_the_password_needs_the_csrf_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let r = app
        .send(change(&app, PASSWORD, NEW_PASSWORD).cookie_of(&alice))
        .await;
    assert_problem(&r, 403, "csrf_failed");
    app.login("alice", PASSWORD, false).await;
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_but_keeps_the_callers() {
    let app = TestApp::spawn().await;
    let caller = app.user("alice").await;
    let phone = app.login("alice", PASSWORD, true).await;
    let laptop = app.login("alice", PASSWORD, false).await;
    let bob = app.user("bob").await;
    let r = app
        .send(change(&app, PASSWORD, NEW_PASSWORD).authed(&caller))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(app.session_status(&phone).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.session_status(&laptop).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.session_status(&caller).await, StatusCode::OK);
    // Another user's sessions are untouched.
    assert_eq!(app.session_status(&bob).await, StatusCode::OK);
    let list = app.send(app.get("/v1/sessions").cookie_of(&caller)).await;
    let sessions = list.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1, "only the caller's session: {sessions:?}");
    assert_eq!(sessions[0]["current"], true);
    // The calling session can still do unsafe things with its token.
    let out = app
        .send(app.post("/v1/session/logout").authed(&caller))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn changing_the_password_without_a_credential_is_401() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let r = app.send(change(&app, PASSWORD, NEW_PASSWORD)).await;
    assert_problem(&r, 401, "unauthenticated");
    assert!(r.header("www-authenticate").is_some());
    app.login("alice", PASSWORD, false).await;
}
