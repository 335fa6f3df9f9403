//! The pages with passkeys: the script is allowed only where passkeys are
//! used, and the account page lists and deletes them without script.

use latchkey_auth::PasskeySettings;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::soft_authenticator::SoftPasskey;

const ORIGIN: &str = "https://example.test";
const SCRIPT_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; script-src 'self'; \
     connect-src 'self'";
const NO_SCRIPT_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| {
        c.http.passkeys = PasskeySettings {
            rp_id: Some("example.test".into()),
            origins: vec![ORIGIN.into()],
        };
    })
    .await
}

#[tokio::test]
async fn the_login_page_offers_a_passkey_with_its_script_and_nothing_inline() {
    let app = spawn().await;
    let r = app.send(app.get("/login")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-security-policy"), Some(SCRIPT_CSP));
    assert!(r.body.contains("Sign in with a passkey"));
    assert!(r.body.contains(r#"autocomplete="username webauthn""#));
    assert!(
        r.body
            .contains(r#"<script src="/assets/passkeys.js" defer></script>"#)
    );
    assert_eq!(
        r.body.matches("<script").count(),
        1,
        "one script, no inline code"
    );
    let js = app.send(app.get("/assets/passkeys.js")).await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(js.body.contains("navigator.credentials.get"));
}

#[tokio::test]
async fn without_passkeys_the_pages_stay_script_free() {
    let app = TestApp::spawn_with(|c| c.http.tokens.issuer = "http://192.0.2.1:8080".into()).await;
    let r = app.send(app.get("/login")).await;
    assert_eq!(r.header("content-security-policy"), Some(NO_SCRIPT_CSP));
    assert!(!r.body.contains("<script"));
    assert!(!r.body.contains("passkey"));
    let alice = app.user("alice").await;
    let r = app.send(app.get("/account").cookie_of(&alice)).await;
    assert_eq!(r.header("content-security-policy"), Some(NO_SCRIPT_CSP));
    assert!(!r.body.contains("<script"));
}

#[tokio::test]
async fn the_account_page_lists_passkeys_and_deletes_one_with_a_plain_form() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let options = app
        .send(app.post("/v1/passkeys/register/options").authed(&alice))
        .await;
    let (_, credential) = SoftPasskey::create(&options.json(), ORIGIN, true);
    let r = app
        .send(
            app.post("/v1/passkeys/register")
                .authed(&alice)
                .json(&json!({ "credential": credential, "name": "<b>phone</b>" })),
        )
        .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let page = app.send(app.get("/account").cookie_of(&alice)).await;
    assert_eq!(page.header("content-security-policy"), Some(SCRIPT_CSP));
    assert!(page.body.contains("&lt;b&gt;phone&lt;/b&gt;"), "escaped");
    assert!(page.body.contains("synced"));
    assert!(page.body.contains(r#"id="passkey-register""#));
    // An error page (no passkey features) keeps the script-free policy.
    let bob = app.user("bob").await;
    let path = format!("/account/passkeys/{id}/delete");
    let form = [("csrf_token", bob.csrf.as_str())];
    let r = app.send(app.post(&path).cookie_of(&bob).form(&form)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("content-security-policy"), Some(NO_SCRIPT_CSP));
    let form = [("csrf_token", alice.csrf.as_str())];
    let r = app
        .send(app.post(&path).cookie_of(&alice).form(&form))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some("/account?notice=passkey-deleted")
    );
    let list = app.send(app.get("/v1/passkeys").cookie_of(&alice)).await;
    assert_eq!(list.json()["passkeys"], json!([]));
}
