//! Bearer tokens: `/v1/token/login`, the access token's shape, and how
//! `/v1/me` reads a bearer token (header only, never the query string).

use std::time::Duration;

use latchkey::Config;
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use serde_json::json;

use crate::helpers::{
    MINUTE, PASSWORD, RequestExt as _, START, TestApp, assert_invalid_token, assert_problem,
    pair_from,
};
use crate::jwt;

const SECOND: Duration = Duration::from_secs(1);

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[tokio::test]
async fn token_login_returns_a_bearer_pair_that_is_never_cached() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let r = app.token_login_attempt("alice", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    assert!(r.set_cookies().is_empty(), "bearer login sets no cookie");
    let body = r.json();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "refresh_token", "token_type"]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert_eq!(refresh.len(), 43, "256 bits, unpadded base64url");
    assert!(is_base64url(refresh), "{refresh}");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 3, "a compact JWS: {access}");
    // Each login is a new family with new tokens.
    let again = app.token_login("alice", PASSWORD).await;
    assert_ne!(again.refresh, refresh);
    assert_ne!(again.access, access);
}

#[tokio::test]
async fn the_access_token_is_an_eddsa_at_jwt_with_the_documented_claims() {
    let app = TestApp::spawn_with(|cfg: &mut Config| {
        cfg.http.tokens.issuer = "https://auth.example.test".into();
    })
    .await;
    let id = app.create_user("alice", PASSWORD).await;
    let pair = app.token_login("alice", PASSWORD).await;
    let header = jwt::header(&pair.access);
    let kid = app.state.tokens.current_kid();
    assert_eq!(
        header,
        json!({"alg": "EdDSA", "kid": kid, "typ": "at+jwt"}),
        "exactly these three members"
    );
    let claims = jwt::claims(&pair.access);
    let mut names: Vec<&String> = claims.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "amr",
            "aud",
            "auth_time",
            "exp",
            "iat",
            "iss",
            "jti",
            "sid",
            "sub"
        ]
    );
    assert_eq!(claims["iss"], "https://auth.example.test");
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["aud"], "latchkey");
    let iat = claims["iat"].as_i64().expect("integer iat");
    assert_eq!(iat, START.unix_seconds());
    assert_eq!(claims["exp"].as_i64().expect("integer exp") - iat, 300);
    for id_claim in ["jti", "sid"] {
        let v = claims[id_claim].as_str().expect("a string");
        assert!(v.len() >= 16 && is_base64url(v), "{id_claim}: {v}");
    }
    let other = app.token_login("alice", PASSWORD).await;
    let other = jwt::claims(&other.access);
    assert_ne!(other["jti"], claims["jti"]);
    assert_ne!(other["sid"], claims["sid"], "a login starts a new family");
}

#[tokio::test]
async fn token_login_with_a_wrong_password_or_unknown_user_is_401_invalid_credentials() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let wrong = app
        .token_login_attempt("alice", "not-alices-password")
        .await;
    let unknown = app
        .token_login_attempt("nobody", "not-alices-password")
        .await;
    assert_problem(&wrong, 401, "invalid_credentials");
    assert_problem(&unknown, 401, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body, "no hint which one was wrong");
    assert!(!wrong.body.contains("access_token"));
    let r = app
        .send(
            app.post("/v1/token/login")
                .json(&json!({"username": "alice"})),
        )
        .await;
    assert_problem(&r, 422, "invalid_request");
    app.assert_no_secret_leaked();
}

#[tokio::test]
async fn token_login_is_throttled_together_with_session_login() {
    let app = TestApp::spawn_with(|cfg: &mut Config| {
        cfg.http.login_limits.per_account = 3;
        cfg.http.login_limits.per_address = 100;
        cfg.http.login_limits.window = 15 * MINUTE;
    })
    .await;
    app.create_user("alice", PASSWORD).await;
    // Two failures by token login and one by session login: one account.
    for _ in 0..2 {
        let r = app.token_login_attempt("alice", "wrong-password!").await;
        assert_problem(&r, 401, "invalid_credentials");
    }
    let r = app.login_attempt("alice", "wrong-password!").await;
    assert_problem(&r, 401, "invalid_credentials");
    let r = app.token_login_attempt("alice", PASSWORD).await;
    assert_problem(&r, 429, "rate_limited");
    assert_eq!(r.header("retry-after"), Some("900"));
    assert!(!r.body.contains("access_token"));
    app.advance(15 * MINUTE);
    app.token_login("alice", PASSWORD).await;
}

#[tokio::test]
async fn me_with_a_bearer_token_names_the_user_and_says_bearer() {
    let app = TestApp::spawn().await;
    let id = app.create_user("Alice", PASSWORD).await;
    let pair = app.token_login("alice", PASSWORD).await;
    let r = app.me_bearer(&pair.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        r.json(),
        json!({
            "user": {"id": id, "username": "alice"},
            "auth": "bearer",
            "amr": ["pwd"],
            "auth_time": START.unix_seconds(),
        })
    );
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    let r = app
        .send(
            app.get("/v1/me")
                .header(AUTHORIZATION, format!("bearer {}", pair.access)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn an_access_token_works_for_five_minutes_and_then_is_invalid_token() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    app.assert_bearer_works(&pair.access).await;
    app.advance(5 * MINUTE - SECOND);
    app.assert_bearer_works(&pair.access).await;
    app.advance(SECOND);
    let r = app.me_bearer(&pair.access).await;
    assert_invalid_token(&r);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(!r.body.contains(&pair.access), "the token is not echoed");
}

#[tokio::test]
async fn the_access_lifetime_follows_the_configuration() {
    let app = TestApp::spawn_with(|cfg: &mut Config| {
        cfg.http.tokens.access_ttl = 2 * MINUTE;
    })
    .await;
    app.create_user("alice", PASSWORD).await;
    let r = app.token_login_attempt("alice", PASSWORD).await;
    assert_eq!(r.json()["expires_in"], 120);
    let pair = pair_from(&r);
    let c = jwt::claims(&pair.access);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 120);
    app.advance(2 * MINUTE - SECOND);
    app.assert_bearer_works(&pair.access).await;
    app.advance(SECOND);
    app.assert_bearer_refused(&pair.access).await;
}

#[tokio::test]
async fn a_token_in_the_query_string_is_400_even_beside_a_valid_header() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let url = format!("/v1/me?access_token={}", pair.access);
    let r = app.send(app.get(&url)).await;
    assert_problem(&r, 400, "token_in_query");
    let r = app.send(app.get(&url).bearer(&pair.access)).await;
    assert_problem(&r, 400, "token_in_query");
    let r = app
        .send(app.get("/v1/me?x=1&access_token=").bearer(&pair.access))
        .await;
    assert_problem(&r, 400, "token_in_query");
    // Other parameters are no reason to refuse.
    let r = app
        .send(app.get("/v1/me?access_token_hint=1").bearer(&pair.access))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_token_even_if_both_are_valid() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let r = app
        .send(app.get("/v1/me").bearer(&pair.access).bearer(&pair.access))
        .await;
    assert_invalid_token(&r);
}

#[tokio::test]
async fn other_authorization_schemes_and_empty_bearers_are_invalid_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let basic = format!("Basic {}", jwt::b64(format!("alice:{PASSWORD}").as_bytes()));
    for value in [
        basic.as_str(),
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Token abc",
    ] {
        let r = app
            .send(app.get("/v1/me").header(AUTHORIZATION, value))
            .await;
        assert_invalid_token(&r);
        // A session cookie beside a bad Authorization header does not
        // rescue it: the header, when present, decides.
        let r = app
            .send(
                app.get("/v1/me")
                    .header(AUTHORIZATION, value)
                    .cookie_of(&alice),
            )
            .await;
        assert_invalid_token(&r);
    }
}

#[tokio::test]
async fn a_bearer_token_does_not_need_csrf_and_a_cookie_is_not_a_bearer_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let pair = app.token_login("alice", PASSWORD).await;
    // A session cookie value presented as a bearer token is refused.
    app.assert_bearer_refused(&alice.cookie).await;
    // A refresh token presented as an access token is refused.
    app.assert_bearer_refused(&pair.refresh).await;
    // An unsafe method with a bearer token needs no X-CSRF-Token.
    let r = app
        .send(app.post("/v1/password").bearer(&pair.access).json(&json!({
            "current_password": PASSWORD, "new_password": "a-brand-new-passphrase"
        })))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
}
