//! E-mail addresses and verification against a real SMTP server, and the
//! e-mail routes without `[email]`.

use reqwest::StatusCode;
use serde_json::json;

use crate::email_helpers::{SmtpPeer, link_token, recipient, smtp_enabled};
use crate::helpers::{RequestExt as _, TestApp, assert_problem};

#[tokio::test]
async fn without_email_configured_every_email_route_answers_501() {
    let app = TestApp::spawn().await;
    let login = app.user("alice").await;
    let anonymous = [
        ("/v1/email/verify", json!({ "token": "x" })),
        ("/v1/password/forgot", json!({ "email": "a@example.com" })),
        (
            "/v1/password/reset",
            json!({ "token": "x", "new_password": "a-new-password" }),
        ),
        ("/v1/email/code", json!({ "email": "a@example.com" })),
        (
            "/v1/email/login",
            json!({ "email": "a@example.com", "code": "123456" }),
        ),
    ];
    for (path, body) in anonymous {
        let r = app.send(app.post(path).json(&body)).await;
        assert_problem(&r, 501, "email_not_configured");
    }
    let r = app
        .send(
            app.post("/v1/email")
                .authed(&login)
                .json(&json!({ "email": "a@example.com" })),
        )
        .await;
    assert_problem(&r, 501, "email_not_configured");
    let r = app
        .send(app.post("/v1/register").json(
            &json!({ "username": "bob", "password": "correct-horse-battery-staple", "email": "b@example.com" }),
        ))
        .await;
    assert_problem(&r, 501, "email_not_configured");
    // Without [email], /v1/me says nothing about addresses.
    let me = app.send(app.get("/v1/me").cookie_of(&login)).await.json();
    assert!(me.get("email").is_none(), "{me}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_address_is_verified_once_by_its_link() {
    if !smtp_enabled() {
        return;
    }
    let peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    let r = app.register_with_email("alice", "Alice@Example.COM").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let m = peer.nth(1).await;
    assert_eq!(recipient(&m), "Alice@Example.COM");
    assert_eq!(m["from"], "no-reply@example.com");
    let html = m["html"].as_str().unwrap();
    let token = link_token(&m);
    assert!(html.contains(&format!("/verify?token={token}")), "{html}");
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .contains("http://127.0.0.1:0/verify?token=")
    );
    let login = app.login("alice", crate::helpers::PASSWORD, false).await;
    let me = app.send(app.get("/v1/me").cookie_of(&login)).await.json();
    assert_eq!(
        (me["email"].clone(), me["email_verified"].clone()),
        (json!("Alice@Example.COM"), json!(false))
    );
    assert_eq!(app.verify_link(&token).await.status, StatusCode::NO_CONTENT);
    for path in ["/v1/me", "/v1/session"] {
        let me = app.send(app.get(path).cookie_of(&login)).await.json();
        assert_eq!(me["email_verified"], json!(true), "{path}: {me}");
    }
    // The link works once.
    assert_problem(&app.verify_link(&token).await, 401, "invalid_link");
    // Another account cannot take the address, whatever the domain's case.
    let r = app.register_with_email("bob", "Alice@example.com").await;
    assert_problem(&r, 409, "email_taken");
    let r = app.register_with_email("bob", "not an address").await;
    assert_problem(&r, 422, "invalid_email");
    app.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_address_needs_a_recent_sign_in_and_tells_the_old_one() {
    if !smtp_enabled() {
        return;
    }
    let peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    let login = app.user("alice").await;
    let set = |email: &str| {
        app.post("/v1/email")
            .authed(&login)
            .json(&json!({ "email": email }))
    };
    assert_eq!(
        app.send(set("old@example.com")).await.status,
        StatusCode::ACCEPTED
    );
    let first = peer.nth(1).await;
    assert_eq!(recipient(&first), "old@example.com");
    assert_eq!(app.verify_link(&link_token(&first)).await.status, 204);
    // Ten minutes later the sign-in is no longer recent.
    app.advance(crate::helpers::MINUTE * 10);
    assert_problem(
        &app.send(set("new@example.com")).await,
        403,
        "reauthentication_required",
    );
    let fresh = app.login("alice", crate::helpers::PASSWORD, false).await;
    let r = app
        .send(
            app.post("/v1/email")
                .authed(&fresh)
                .json(&json!({ "email": "new@example.com" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let got = peer.wait_for(3).await;
    let mut to: Vec<_> = got[1..].iter().map(recipient).collect();
    to.sort();
    assert_eq!(to, ["new@example.com", "old@example.com"]);
    let notice = got[1..]
        .iter()
        .find(|m| recipient(m) == "old@example.com")
        .unwrap();
    assert!(notice["text"].as_str().unwrap().contains("new@example.com"));
    let verify = got[1..]
        .iter()
        .find(|m| recipient(m) == "new@example.com")
        .unwrap();
    // The old address's link no longer verifies anything; the new one does.
    let me = app.send(app.get("/v1/me").cookie_of(&fresh)).await.json();
    assert_eq!(
        (me["email"].clone(), me["email_verified"].clone()),
        (json!("new@example.com"), json!(false))
    );
    assert_eq!(app.verify_link(&link_token(verify)).await.status, 204);
}

#[tokio::test]
async fn setting_an_address_with_a_cookie_needs_the_csrf_token() {
    let app = TestApp::spawn().await;
    let login = app.user("alice").await;
    let body = json!({ "email": "alice@example.com" });
    let r = app
        .send(app.post("/v1/email").cookie_of(&login).json(&body))
        .await;
    assert_problem(&r, 403, "csrf_failed");
    let r = app.send(app.post("/v1/email").json(&body)).await;
    assert_problem(&r, 401, "unauthenticated");
}
