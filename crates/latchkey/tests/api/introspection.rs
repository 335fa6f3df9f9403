//! `POST /v1/token/introspect` (RFC 7662): only configured clients, by
//! HTTP Basic; an active token's claims, or `{"active":false}` and
//! nothing more.

use latchkey::Config;
use latchkey_http::IntrospectionClient;
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

use crate::helpers::{MINUTE, PASSWORD, Reply, TestApp, assert_problem};
use crate::jwt;

const CLIENT: &str = "orders-api";
/// A colon in the secret is allowed (only the id may not have one).
const SECRET: &str = "s3cret:with-a-colon";

fn clients(cfg: &mut Config) {
    cfg.http.introspection_clients = vec![
        IntrospectionClient {
            id: CLIENT.into(),
            secret: SECRET.into(),
        },
        IntrospectionClient {
            id: "reports-api".into(),
            secret: "another-secret".into(),
        },
    ];
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    format!("Basic {encoded}")
}

async fn introspect_as(app: &TestApp, authorization: Option<&str>, token: &str) -> Reply {
    let mut rb = app.post("/v1/token/introspect").form(&[("token", token)]);
    if let Some(a) = authorization {
        rb = rb.header(AUTHORIZATION, a);
    }
    app.send(rb).await
}

/// Introspects as the configured client and expects `200`.
async fn introspect(app: &TestApp, token: &str) -> Value {
    let r = introspect_as(app, Some(&basic(CLIENT, SECRET)), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()
}

fn assert_invalid_client(r: &Reply) {
    assert_problem(r, 401, "invalid_client");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Basic realm="latchkey""#)
    );
    assert!(!r.body.contains("active"), "{}", r.body);
}

#[tokio::test]
async fn introspection_without_valid_client_credentials_is_401_invalid_client() {
    let app = TestApp::spawn_with(clients).await;
    let pair = app.token_user("alice").await;
    let bad = [
        None,
        Some(basic(CLIENT, "wrong")),
        Some(basic(CLIENT, "s3cret")),
        Some(basic(CLIENT, &format!("{SECRET}x"))),
        Some(basic("ORDERS-API", SECRET)),
        Some(basic("nobody", SECRET)),
        Some(basic("reports-api", SECRET)),
        Some(basic("", "")),
        Some(format!("Bearer {}", pair.access)),
        Some("Basic".to_owned()),
        Some("Basic !!!not-base64!!!".to_owned()),
        Some(format!("Basic {}", jwt::b64(b"no-colon-here"))),
    ];
    for authorization in &bad {
        let r = introspect_as(&app, authorization.as_deref(), &pair.access).await;
        assert_invalid_client(&r);
    }
    // Either configured client is fine.
    let r = introspect_as(
        &app,
        Some(&basic("reports-api", "another-secret")),
        &pair.access,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["active"], true);
}

#[tokio::test]
async fn without_configured_clients_nobody_may_introspect() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let r = introspect_as(&app, Some(&basic(CLIENT, SECRET)), &pair.access).await;
    assert_invalid_client(&r);
    let r = introspect_as(&app, Some(&basic("", "")), &pair.access).await;
    assert_invalid_client(&r);
}

#[tokio::test]
async fn an_active_token_is_described_by_its_claims() {
    let app = TestApp::spawn_with(clients).await;
    let id = app.create_user("alice", PASSWORD).await;
    let pair = app.token_login("alice", PASSWORD).await;
    let claims = jwt::claims(&pair.access);
    let body = introspect(&app, &pair.access).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["sub"], id.as_str());
    assert_eq!(body["token_type"], "Bearer");
    for name in ["sub", "exp", "iat", "jti", "sid", "iss", "aud"] {
        assert_eq!(body[name], claims[name], "{name}: {body}");
    }
    let mut names: Vec<&String> = body.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "active",
            "aud",
            "exp",
            "iat",
            "iss",
            "jti",
            "sid",
            "sub",
            "token_type"
        ]
    );
    // JSON bodies are accepted too.
    let r = app
        .send(
            app.post("/v1/token/introspect")
                .header(AUTHORIZATION, basic(CLIENT, SECRET))
                .json(&json!({"token": pair.access})),
        )
        .await;
    assert_eq!(r.json()["active"], true, "{}", r.body);
}

#[tokio::test]
async fn revoked_expired_garbage_and_refresh_tokens_are_only_active_false() {
    let app = TestApp::spawn_with(clients).await;
    let revoked = app.token_user("alice").await;
    let expiring = app.token_login("alice", PASSWORD).await;
    let refresh_only = app.token_login("alice", PASSWORD).await;
    let stranger = TestApp::spawn().await.token_user("alice").await;
    app.revoke_token(&revoked.access).await;
    let mut tampered = jwt::claims(&refresh_only.access);
    tampered["sub"] = json!("someone-else");
    let parts: Vec<&str> = refresh_only.access.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        jwt::b64(tampered.to_string().as_bytes()),
        parts[2]
    );
    let inactive = json!({"active": false});
    let now: Vec<&str> = vec![
        &revoked.access,
        &refresh_only.refresh,
        &stranger.access,
        &tampered,
        "garbage",
        "",
        "a.b.c",
    ];
    for token in now {
        assert_eq!(introspect(&app, token).await, inactive, "{token}");
    }
    assert_eq!(introspect(&app, &expiring.access).await["active"], true);
    app.advance(5 * MINUTE);
    assert_eq!(introspect(&app, &expiring.access).await, inactive);
}

#[tokio::test]
async fn a_family_revoked_elsewhere_is_inactive_at_once() {
    let app = TestApp::spawn_with(clients).await;
    let pair = app.token_user("alice").await;
    assert_eq!(introspect(&app, &pair.access).await["active"], true);
    app.revoke_token(&pair.refresh).await;
    assert_eq!(
        introspect(&app, &pair.access).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn a_client_without_credentials_gets_401_whatever_its_body() {
    // The client is authenticated before the request is read: a caller
    // without credentials learns only that it needs them.
    let app = TestApp::spawn_with(clients).await;
    let r = app.send(app.post("/v1/token/introspect")).await;
    assert_invalid_client(&r);
    let r = app
        .send(app.post("/v1/token/introspect").form(&[("x", "y")]))
        .await;
    assert_invalid_client(&r);
}
