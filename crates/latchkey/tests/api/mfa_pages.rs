//! Second factors on the pages: the sign-in's code step and TOTP on the
//! account page, script-free, under the strict CSP.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, Reply, RequestExt as _, TestApp};
use crate::mfa_helpers::{base32_decode, totp_at_step};

pub fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

pub fn assert_page(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    // The only script any page may load is latchkey's passkey file (on the
    // pages that offer passkeys); nothing inline, nothing else.
    let passkeys = r#"<script src="/assets/passkeys.js" defer></script>"#;
    assert!(
        !r.body.replace(passkeys, "").contains("<script"),
        "no other script on any page: {}",
        r.body
    );
}

#[tokio::test]
async fn the_sign_in_form_asks_for_the_code_as_a_second_step() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let r = app
        .send(app.post("/login").form(&[
            ("username", "alice"),
            ("password", PASSWORD),
            ("remember", "on"),
        ]))
        .await;
    assert_page(&r, StatusCode::OK);
    assert!(r.body.contains("action=\"/login/code\""), "{}", r.body);
    assert!(r.set_cookies().is_empty(), "no session before the code");
    let token = hidden(&r.body, "mfa_token");
    let wrong = app
        .send(
            app.post("/login/code")
                .form(&[("mfa_token", token.as_str()), ("code", "000000")]),
        )
        .await;
    assert_page(&wrong, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("wrong"), "{}", wrong.body);
    let code = app.fresh_code(&totp);
    let r = app
        .send(
            app.post("/login/code")
                .form(&[("mfa_token", token.as_str()), ("code", &code)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), Some("/account"));
    assert_eq!(r.set_cookies().len(), 1);
    // Used up: the form answers with the sign-in page again.
    let again = app
        .send(
            app.post("/login/code")
                .form(&[("mfa_token", token.as_str()), ("code", &code)]),
        )
        .await;
    assert_page(&again, StatusCode::UNAUTHORIZED);
    assert!(again.body.contains("Sign in again"), "{}", again.body);
}

#[tokio::test]
async fn the_account_page_enrols_totp_with_a_server_drawn_qr_code() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let page = app.send(app.get("/account").cookie_of(&alice)).await;
    assert_page(&page, StatusCode::OK);
    assert!(page.body.contains("Set up an authenticator app"));
    let csrf = [("csrf_token", alice.csrf.as_str())];
    let r = app
        .send(app.post("/account/mfa/totp").cookie_of(&alice).form(&csrf))
        .await;
    assert_page(&r, StatusCode::OK);
    assert!(
        r.body.contains("<svg") && r.body.contains("<path"),
        "inline QR"
    );
    let key = r.body.split("id=\"totp-secret\">").nth(1).unwrap();
    let secret = base32_decode(key.split('<').next().unwrap());
    let confirm = |code: String| {
        app.post("/account/mfa/totp/confirm")
            .cookie_of(&alice)
            .form(&[("csrf_token", alice.csrf.clone()), ("code", code)])
    };
    let wrong = app
        .send(confirm(totp_at_step(&secret, app.step() + 3)))
        .await;
    assert_page(&wrong, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("<svg"), "the set-up again");
    let r = app.send(confirm(totp_at_step(&secret, app.step()))).await;
    assert_page(&r, StatusCode::OK);
    assert_eq!(r.body.matches("<li><code>").count(), 10, "{}", r.body);
    let page = app.send(app.get("/account").cookie_of(&alice)).await;
    assert!(
        page.body.contains("10 recovery codes left; none used yet."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_account_page_shows_recovery_codes_and_turns_totp_off() {
    let app = TestApp::spawn().await;
    let (login, totp) = app.mfa_user("alice").await;
    let token = crate::mfa_helpers::mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    app.verify(&token, &totp.recovery_codes[0]).await;
    let page = app.send(app.get("/account").cookie_of(&login)).await;
    assert!(
        page.body
            .contains("9 recovery codes left; one was last used"),
        "{}",
        page.body
    );
    let form = |path: &'static str, password: &'static str| {
        app.post(path)
            .cookie_of(&login)
            .form(&[("csrf_token", login.csrf.as_str()), ("password", password)])
    };
    let wrong = app
        .send(form("/account/mfa/recovery-codes", "not-the-password"))
        .await;
    assert_page(&wrong, StatusCode::UNAUTHORIZED);
    let r = app
        .send(form("/account/mfa/recovery-codes", PASSWORD))
        .await;
    assert_page(&r, StatusCode::OK);
    assert_eq!(r.body.matches("<li><code>").count(), 10);
    let r = app.send(form("/account/mfa/totp/remove", PASSWORD)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.token_login("alice", PASSWORD).await;
}

/// The page's code step is limited per address like `/v1/mfa/verify`
/// (made-up tokens cost a store read each), and a page's form is answered
/// with a page: `429` in HTML under the strict CSP, with `Retry-After`.
#[tokio::test]
async fn the_pages_code_step_is_limited_per_address_with_a_page() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.http.address_limits.mfa_verify = latchkey_http::RouteLimit {
            per_address: 3,
            window: std::time::Duration::from_secs(60),
        };
    })
    .await;
    let attempt = || {
        app.send(
            app.post("/login/code")
                .form(&[("mfa_token", "made-up"), ("code", "123456")]),
        )
    };
    for _ in 0..3 {
        let r = attempt().await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }
    let r = attempt().await;
    assert_page(&r, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.header("retry-after").is_some());
    assert!(!r.body.contains("rate_limited"), "a page, not problem JSON");
}
