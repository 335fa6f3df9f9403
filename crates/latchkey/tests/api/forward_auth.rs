//! Forward authentication (FORWARD_AUTH.md): `GET /v1/verify` as nginx
//! `auth_request`, Traefik `ForwardAuth` and Caddy `forward_auth` call it.

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::Clock as _;
use latchkey_verify::{LatchkeyVerifier, VerifierConfig};
use reqwest::{Method, RequestBuilder, StatusCode};

use crate::helpers::{
    INVALID_TOKEN_CHALLENGE, Login, PASSWORD, Reply, RequestExt as _, TestApp,
    assert_invalid_token, assert_problem, jwt_claims,
};

const UNSAFE: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];
const METHOD_HEADERS: [&str; 2] = ["x-forwarded-method", "x-original-method"];
/// The audience of the tokens handed to the upstream (the default).
const FORWARD_AUTH: &str = "latchkey-forward-auth";

/// Asserts that `token` was minted for the upstream from `original`: the
/// same user and session or family, forward auth's audience.
fn assert_minted_from(token: &str, original: &str) {
    assert_ne!(token, original, "a first-party token is never handed on");
    let (minted, mine) = (jwt_claims(token), jwt_claims(original));
    assert_eq!(minted["aud"], FORWARD_AUTH);
    assert_eq!(
        (&minted["sub"], &minted["sid"]),
        (&mine["sub"], &mine["sid"])
    );
}

/// As deployed: the test client is the trusted proxy, and the default
/// policy lets anyone signed in through (the default is `deny`).
pub fn behind_proxy(cfg: &mut latchkey::Config) {
    cfg.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    cfg.http.forward_auth.rules.default_policy = latchkey_http::forward_auth::Policy::SignedIn;
}

/// The upstream's verifier: forward auth's audience, the server's clock.
fn verifier(app: &TestApp) -> LatchkeyVerifier {
    let clock = app.clock.clone();
    let config = VerifierConfig::new(
        app.state.tokens.settings().issuer.clone(),
        FORWARD_AUTH,
        app.url("/.well-known/jwks.json"),
    );
    LatchkeyVerifier::with_clock(config, Arc::new(move || clock.now().unix_seconds())).unwrap()
}

fn verify(app: &TestApp) -> RequestBuilder {
    app.get("/v1/verify")
}

/// Asserts `200` with the two headers; returns the token handed on.
fn granted(r: &Reply, user_id: &str) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("x-latchkey-user"), Some(user_id));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .expect("Authorization: Bearer")
        .to_owned()
}

#[tokio::test]
async fn a_session_cookie_gets_a_token_minted_for_the_session() {
    let app = TestApp::spawn_with(behind_proxy).await;
    let alice = app.user("alice").await;
    let token = granted(
        &app.send(verify(&app).cookie_of(&alice)).await,
        &alice.user_id,
    );
    // What the upstream does with it: verify it against the JWKS.
    let claims = verifier(&app).verify(&token).await.expect("a valid token");
    assert_eq!(claims.sub, alice.user_id);
    assert_eq!(claims.aud, FORWARD_AUTH);
    assert_eq!(claims.exp - claims.iat, 300);
    let r = app.send(app.get("/v1/session").cookie_of(&alice)).await;
    assert_eq!(claims.sid, r.json()["session"]["id"].as_str().unwrap());
    // It is the upstream's alone: latchkey refuses it as a credential.
    app.assert_bearer_refused(&token).await;
    // Reused while more than a fifth of its life is left, then renewed.
    let again = granted(
        &app.send(verify(&app).cookie_of(&alice)).await,
        &alice.user_id,
    );
    assert_eq!(again, token);
    app.advance(Duration::from_secs(239));
    let later = granted(
        &app.send(verify(&app).cookie_of(&alice)).await,
        &alice.user_id,
    );
    assert_eq!(later, token);
    app.advance(Duration::from_secs(2));
    let renewed = granted(
        &app.send(verify(&app).cookie_of(&alice)).await,
        &alice.user_id,
    );
    assert_ne!(renewed, token);
    assert_eq!(
        jwt_claims(&renewed)["iat"].as_i64(),
        Some(app.clock.now().unix_seconds())
    );
    verifier(&app).verify(&renewed).await.expect("valid");
}

#[tokio::test]
async fn a_bearer_token_gets_a_token_minted_for_its_family() {
    let app = TestApp::spawn_with(behind_proxy).await;
    let pair = app.token_user("alice").await;
    let user = jwt_claims(&pair.access)["sub"].as_str().unwrap().to_owned();
    let token = granted(&app.send(verify(&app).bearer(&pair.access)).await, &user);
    assert_minted_from(&token, &pair.access);
    verifier(&app)
        .verify(&token)
        .await
        .expect("valid upstream token");
}

#[tokio::test]
async fn the_hybrid_cookie_gets_a_token_minted_for_its_family() {
    let app = TestApp::spawn_with(behind_proxy).await;
    app.create_user("alice", PASSWORD).await;
    let hybrid = app.hybrid_login("alice", PASSWORD).await;
    let r = app
        .send(verify(&app).header("cookie", &hybrid.access_cookie))
        .await;
    let token = granted(&r, &hybrid.user_id);
    assert_minted_from(&token, &hybrid.access);
}

#[tokio::test]
async fn without_a_valid_credential_it_is_401() {
    let app = TestApp::spawn_with(behind_proxy).await;
    let alice = app.user("alice").await;
    let r = app.send(verify(&app)).await;
    assert_problem(&r, 401, "unauthenticated");
    assert!(r.header("www-authenticate").is_some(), "{:?}", r.headers);
    assert!(r.header("x-latchkey-user").is_none() && r.header("authorization").is_none());
    let r = app
        .send(verify(&app).raw_cookie(alice.cookie_name, "forged"))
        .await;
    assert_problem(&r, 401, "unauthenticated");
    let r = app.send(verify(&app).bearer("not.a.token")).await;
    assert_invalid_token(&r);
    assert_eq!(r.header("www-authenticate"), Some(INVALID_TOKEN_CHALLENGE));
    let r = app
        .send(verify(&app).raw_cookie("__Host-lk_at", "not.a.token"))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    // Ended sessions and revoked tokens stop at once, and so does the
    // token minted for an ended session.
    let minted = granted(
        &app.send(verify(&app).cookie_of(&alice)).await,
        &alice.user_id,
    );
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.send(verify(&app).cookie_of(&alice)).await;
    assert_problem(&r, 401, "unauthenticated");
    assert_invalid_token(&app.send(verify(&app).bearer(&minted)).await);
    let pair = app.token_login("alice", PASSWORD).await;
    app.revoke_token(&pair.access).await;
    assert_invalid_token(&app.send(verify(&app).bearer(&pair.access)).await);
}

#[tokio::test]
async fn an_unsafe_original_method_needs_the_csrf_token_with_a_session_cookie() {
    let app = TestApp::spawn_with(behind_proxy).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    for header in METHOD_HEADERS {
        for method in UNSAFE {
            let with = |rb: RequestBuilder| rb.cookie_of(&alice).header(header, method);
            let r = app.send(with(verify(&app))).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{header}: {method} without token"
            );
            assert_problem(&r, 403, "csrf_failed");
            assert!(r.header("authorization").is_none());
            let r = app
                .send(with(verify(&app)).header("x-csrf-token", "wrong"))
                .await;
            assert_problem(&r, 403, "csrf_failed");
            let r = app.send(with(verify(&app)).csrf_of(&bob)).await;
            assert_problem(&r, 403, "csrf_failed");
            let r = app.send(with(verify(&app)).csrf_of(&alice)).await;
            granted(&r, &alice.user_id);
        }
        for method in ["GET", "HEAD", "OPTIONS"] {
            let r = app
                .send(verify(&app).cookie_of(&alice).header(header, method))
                .await;
            granted(&r, &alice.user_id);
        }
    }
    // No forwarded method: the request's own (GET) decides.
    granted(
        &app.send(verify(&app).cookie_of(&alice)).await,
        &alice.user_id,
    );
}

#[tokio::test]
async fn an_unsafe_original_method_needs_the_csrf_token_with_the_hybrid_cookie() {
    let app = TestApp::spawn_with(behind_proxy).await;
    app.create_user("alice", PASSWORD).await;
    let hybrid = app.hybrid_login("alice", PASSWORD).await;
    for header in METHOD_HEADERS {
        for method in UNSAFE {
            let rb = || {
                verify(&app)
                    .header("cookie", &hybrid.access_cookie)
                    .header(header, method)
            };
            assert_problem(&app.send(rb()).await, 403, "csrf_failed");
            let r = app.send(rb().header("x-csrf-token", &hybrid.csrf)).await;
            granted(&r, &hybrid.user_id);
        }
    }
}

#[tokio::test]
async fn a_bearer_token_needs_no_csrf_token_whatever_the_original_method() {
    let app = TestApp::spawn_with(behind_proxy).await;
    let pair = app.token_user("alice").await;
    let user = jwt_claims(&pair.access)["sub"].as_str().unwrap().to_owned();
    for header in METHOD_HEADERS {
        for method in UNSAFE {
            let r = app
                .send(verify(&app).bearer(&pair.access).header(header, method))
                .await;
            assert_minted_from(&granted(&r, &user), &pair.access);
        }
    }
}

#[tokio::test]
async fn the_browsers_site_check_applies_to_the_original_request() {
    // As deployed behind a proxy: the public origin is the site's, and the
    // proxy passes the browser's `Origin` and `Sec-Fetch-Site` on.
    let app = TestApp::spawn_with(|cfg| {
        behind_proxy(cfg);
        cfg.http.public_origin = Some("https://app.example.com".into());
    })
    .await;
    let alice = app.user("alice").await;
    let post = |origin: &str, site: Option<&str>| {
        let rb = verify(&app)
            .cookie_of(&alice)
            .csrf_of(&alice)
            .header("x-original-method", "POST")
            .header("origin", origin);
        match site {
            Some(site) => rb.header("sec-fetch-site", site),
            None => rb,
        }
    };
    for (origin, site) in [
        ("https://app.example.com", Some("same-origin")),
        ("https://app.example.com", None),
    ] {
        granted(&app.send(post(origin, site)).await, &alice.user_id);
    }
    for (origin, site) in [
        ("https://evil.example", Some("cross-site")),
        ("https://app.example.com", Some("same-site")),
        ("https://evil.example", None),
    ] {
        let r = app.send(post(origin, site)).await;
        assert_problem(&r, 403, "csrf_failed");
    }
}

#[tokio::test]
async fn a_malformed_original_method_is_400() {
    let app = TestApp::spawn_with(behind_proxy).await;
    let alice = app.user("alice").await;
    for header in METHOD_HEADERS {
        let r = app
            .send(verify(&app).cookie_of(&alice).header(header, "P@ST"))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{header}: {}", r.body);
        assert!(r.header("authorization").is_none());
    }
}

#[tokio::test]
async fn only_get_reaches_verify() {
    let app = TestApp::spawn_with(behind_proxy).await;
    let alice: Login = app.user("alice").await;
    let r = app
        .send(app.request(Method::POST, "/v1/verify").authed(&alice))
        .await;
    assert_problem(&r, 405, "method_not_allowed");
}
