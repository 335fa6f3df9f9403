//! The e-mail pages: script-free forms for a forgotten password, the
//! reset and verification links, and the account page's address.

use reqwest::StatusCode;

use crate::email_helpers::{SmtpPeer, link_token, smtp_enabled};
use crate::helpers::{PASSWORD, RequestExt as _, TestApp};

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[tokio::test]
async fn without_email_the_login_page_has_no_forgot_link() {
    let app = TestApp::spawn().await;
    let r = app.send(app.get("/login")).await;
    assert!(!r.body.contains("/forgot"), "{}", r.body);
    let r = app.send(app.get("/forgot")).await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_through_the_pages() {
    if !smtp_enabled() {
        return;
    }
    let peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    app.verified_user(&peer, 1, "alice", "alice@example.com")
        .await;
    let login = app.send(app.get("/login")).await;
    assert!(login.body.contains(r#"href="/forgot""#), "{}", login.body);
    let page = app.send(app.get("/forgot")).await;
    assert_eq!(
        (page.status, page.header("content-security-policy")),
        (StatusCode::OK, Some(CSP))
    );
    assert!(!page.body.contains("<script"));
    let sent = app
        .send(app.post("/forgot").form(&[("email", "alice@example.com")]))
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    let unknown = app
        .send(app.post("/forgot").form(&[("email", "nobody@example.com")]))
        .await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (sent.status, sent.body.as_str())
    );
    // A cross-site form is refused.
    let forged = app
        .send(
            app.post("/forgot")
                .header("origin", "https://evil.example")
                .form(&[("email", "alice@example.com")]),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let token = link_token(&peer.nth(2).await);
    app.secret(&token);
    let form = app.send(app.get(&format!("/reset?token={token}"))).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(&format!(r#"value="{token}""#)));
    let done = app
        .send(app.post("/reset").form(&[
            ("token", token.as_str()),
            ("new_password", "a-brand-new-passphrase"),
        ]))
        .await;
    assert_eq!(
        (done.status, done.header("location")),
        (StatusCode::SEE_OTHER, Some("/login?reset=1"))
    );
    assert_eq!(
        app.login_attempt("alice", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login("alice", "a-brand-new-passphrase", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_shows_and_changes_the_address() {
    if !smtp_enabled() {
        return;
    }
    let peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    let login = app.user("alice").await;
    let page = app.send(app.get("/account").cookie_of(&login)).await;
    assert!(page.body.contains("No address yet"), "{}", page.body);
    let r = app
        .send(app.post("/account/email").cookie_of(&login).form(&[
            ("csrf_token", login.csrf.as_str()),
            ("email", "alice@example.com"),
        ]))
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (StatusCode::SEE_OTHER, Some("/account?notice=email"))
    );
    let page = app.send(app.get("/account").cookie_of(&login)).await;
    assert!(page.body.contains("alice@example.com") && page.body.contains("not verified"));
    // The link opens a page with a button; only the button verifies.
    let token = link_token(&peer.nth(1).await);
    app.secret(&token);
    let verify = app.send(app.get(&format!("/verify?token={token}"))).await;
    assert_eq!(verify.status, StatusCode::OK);
    let page = app.send(app.get("/account").cookie_of(&login)).await;
    assert!(page.body.contains("not verified"));
    let r = app
        .send(app.post("/verify").form(&[("token", token.as_str())]))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let page = app.send(app.get("/account").cookie_of(&login)).await;
    assert!(page.body.contains(">verified<"), "{}", page.body);
    // Without the CSRF token the form is refused.
    let r = app
        .send(
            app.post("/account/email")
                .cookie_of(&login)
                .form(&[("csrf_token", "x"), ("email", "b@example.com")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
