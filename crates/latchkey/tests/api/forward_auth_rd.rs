//! The sign-in round trip behind forward auth: `/login?rd=<original URL>`
//! returns the browser there after any way of signing in, and only for
//! `forward_auth.allowed_redirect_domains` (never an open redirect).

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, Reply, RequestExt as _, TestApp};

const BACK: &str = "https://app.example.com/orders?id=7";

/// Values an attacker could put in `rd`: none may be followed.
const HOSTILE: &[&str] = &[
    "https://evil.test/",
    "//evil.test/x",
    "/\\evil.test",
    "https://app.example.com@evil.test/",
    "https://evil.test\\@app.example.com/",
    "https://evil.test%2F@app.example.com/",
    "https:\\\\evil.test",
    "javascript:alert(1)//app.example.com",
    "https://app.example.com.evil.test/",
    "https://app.example.com\t.evil.test/",
    "data:text/html,<script>alert(1)</script>",
];

async fn app() -> TestApp {
    TestApp::spawn_with(|cfg| {
        cfg.http.forward_auth.allowed_redirect_domains = vec!["example.com".into()];
    })
    .await
}

/// `GET /login?rd=…`.
fn login_page(app: &TestApp, rd: &str) -> reqwest::RequestBuilder {
    let rd = latchkey_http::forward_auth::redirect::encode(rd);
    app.get(&format!("/login?rd={rd}"))
}

fn login_form(rd: &str) -> [(&'static str, &str); 3] {
    [("username", "alice"), ("password", PASSWORD), ("rd", rd)]
}

fn assert_to(r: &Reply, location: &str) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), Some(location));
}

#[tokio::test]
async fn the_password_form_returns_to_an_allowed_rd() {
    let app = app().await;
    app.create_user("alice", PASSWORD).await;
    let page = app.send(login_page(&app, BACK)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"name="rd" value="https://app.example.com/orders?id=7""#),
        "{}",
        page.body
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action 'self' https://app.example.com;"),
        "{csp}"
    );
    let r = app.send(app.post("/login").form(&login_form(BACK))).await;
    assert_to(&r, BACK);
    assert_eq!(r.set_cookies().len(), 1);
    // Already signed in: straight there.
    let cookie = r.set_cookies()[0].split(';').next().unwrap().to_owned();
    let r = app
        .send(login_page(&app, BACK).header("cookie", &cookie))
        .await;
    assert_to(&r, BACK);
}

#[tokio::test]
async fn a_hostile_rd_is_never_followed() {
    let app = app().await;
    app.create_user("alice", PASSWORD).await;
    for rd in HOSTILE {
        let page = app.send(login_page(&app, rd)).await;
        assert_eq!(page.status, StatusCode::OK, "{rd}");
        assert!(!page.body.contains("name=\"rd\""), "{rd}: {}", page.body);
        assert!(!page.body.contains("evil"), "{rd}");
        let r = app.send(app.post("/login").form(&login_form(rd))).await;
        assert_to(&r, "/account");
    }
}

#[tokio::test]
async fn the_second_step_carries_rd_through() {
    let app = app().await;
    let (_, totp) = app.mfa_user("alice").await;
    let r = app.send(app.post("/login").form(&login_form(BACK))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains(r#"name="rd" value="https://app.example.com/orders?id=7""#)
    );
    let token = hidden(&r.body, "mfa_token");
    let code = app.fresh_code(&totp);
    let r = app
        .send(app.post("/login/code").form(&[
            ("mfa_token", token.as_str()),
            ("code", &code),
            ("rd", BACK),
        ]))
        .await;
    assert_to(&r, BACK);
    // A hostile rd slipped into the code form is ignored.
    let r = app.send(app.post("/login").form(&login_form(BACK))).await;
    let token = hidden(&r.body, "mfa_token");
    app.advance(std::time::Duration::from_secs(30));
    let code = app.fresh_code(&totp);
    let r = app
        .send(app.post("/login/code").form(&[
            ("mfa_token", token.as_str()),
            ("code", &code),
            ("rd", "https://evil.test/"),
        ]))
        .await;
    assert_to(&r, "/account");
}

#[tokio::test]
async fn the_passkey_button_carries_only_an_allowed_rd() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.http.forward_auth.allowed_redirect_domains = vec!["example.com".into()];
        cfg.http.passkeys = latchkey_auth::PasskeySettings {
            rp_id: Some("example.test".into()),
            origins: vec!["https://example.test".into()],
        };
    })
    .await;
    let page = app.send(login_page(&app, BACK)).await;
    assert!(page.body.contains("passkey-signin"), "{}", page.body);
    assert!(
        page.body
            .contains(r#"data-rd="https://app.example.com/orders?id=7""#),
        "{}",
        page.body
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example.com;"),
        "{csp}"
    );
    let page = app.send(login_page(&app, "https://evil.test/")).await;
    assert!(!page.body.contains("data-rd"), "{}", page.body);
}

#[tokio::test]
async fn logout_returns_to_an_allowed_rd() {
    let app = app().await;
    let alice = app.user("alice").await;
    let r = app
        .send(
            app.post("/logout")
                .cookie_of(&alice)
                .form(&[("csrf_token", alice.csrf.as_str()), ("rd", BACK)]),
        )
        .await;
    assert_to(&r, BACK);
    assert_eq!(app.session_status(&alice).await, StatusCode::UNAUTHORIZED);
    let bob = app.user("bob").await;
    let r = app
        .send(
            app.post("/logout")
                .cookie_of(&bob)
                .form(&[("csrf_token", bob.csrf.as_str()), ("rd", "//evil.test")]),
        )
        .await;
    assert_to(&r, "/login?out=1");
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}
