//! A passkey as the second step of a password login (API.md, "Second
//! factors and passkeys"): `mfa_required` offers `webauthn`,
//! `POST /v1/mfa/webauthn/options` starts a ceremony for the pending login
//! and `POST /v1/mfa/verify {"mfa_token","challenge_id","credential"}`
//! completes it in each flavour, driven by the software authenticator.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::passkeys::{ORIGIN, spawn};
use crate::soft_authenticator::SoftPasskey;

/// Registers a passkey for `login` (a device-bound one).
async fn register(app: &TestApp, login: &Login) -> SoftPasskey {
    crate::passkeys::register(app, login, false).await.0
}

/// The `mfa_token` of an `mfa_required` answer offering `methods`.
fn token_of(r: &Reply, methods: Value) -> String {
    assert_problem(r, 401, "mfa_required");
    assert!(
        r.set_cookies().is_empty(),
        "no cookie before the second step"
    );
    assert_eq!(r.json()["methods"], methods);
    r.json()["mfa_token"]
        .as_str()
        .expect("mfa_token")
        .to_owned()
}

async fn options(app: &TestApp, mfa_token: &str) -> Reply {
    app.send(
        app.post("/v1/mfa/webauthn/options")
            .json(&json!({ "mfa_token": mfa_token })),
    )
    .await
}

async fn verify(app: &TestApp, mfa_token: &str, challenge_id: &Value, credential: &Value) -> Reply {
    app.send(app.post("/v1/mfa/verify").json(&json!({
        "mfa_token": mfa_token, "challenge_id": challenge_id, "credential": credential,
    })))
    .await
}

/// Options for `mfa_token`, answered by `passkey`.
async fn answer(app: &TestApp, mfa_token: &str, passkey: &mut SoftPasskey) -> Reply {
    let o = options(app, mfa_token).await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.body);
    let credential = passkey.get(&o.json(), ORIGIN);
    verify(app, mfa_token, &o.json()["challenge_id"], &credential).await
}

#[tokio::test]
async fn a_passkey_completes_a_password_login_in_every_flavour() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let mut passkey = register(&app, &alice).await;
    let webauthn = json!(["webauthn"]);

    let r = app
        .send(app.login_request("alice", PASSWORD, Some(true)))
        .await;
    let token = token_of(&r, webauthn.clone());
    let o = options(&app, &token).await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.body);
    let pk = &o.json()["publicKey"];
    assert_eq!(pk["userVerification"], "required");
    let allowed = pk["allowCredentials"].as_array().expect("allowCredentials");
    assert_eq!(allowed.len(), 1);
    let credential = passkey.get(&o.json(), ORIGIN);
    let r = verify(&app, &token, &o.json()["challenge_id"], &credential).await;
    let login = app.login_from(&r);
    assert_eq!(login.user_id, alice.user_id);
    let current = app.send(app.get("/v1/session").cookie_of(&login)).await;
    assert_eq!(current.json()["amr"], json!(["pwd", "hwk", "mfa"]));

    let token = token_of(
        &app.token_login_attempt("alice", PASSWORD).await,
        webauthn.clone(),
    );
    let r = answer(&app, &token, &mut passkey).await;
    let pair = pair_from(&r);
    app.assert_bearer_works(&pair.access).await;
    assert_eq!(
        jwt_claims(&pair.access)["amr"],
        json!(["pwd", "hwk", "mfa"])
    );

    let r = app
        .send(
            app.post("/v1/cookie/login")
                .json(&json!({ "username": "alice", "password": PASSWORD })),
        )
        .await;
    let token = token_of(&r, webauthn);
    let r = answer(&app, &token, &mut passkey).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let names: Vec<String> = r
        .set_cookies()
        .iter()
        .map(|c| SetCookie::parse(c).name)
        .collect();
    assert!(names.iter().any(|n| n.ends_with("lk_at")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("lk_rt")), "{names:?}");
    assert_eq!(r.json()["user"]["id"], alice.user_id.as_str());
}

#[tokio::test]
async fn a_passkey_joins_totp_in_the_methods_offered() {
    let app = spawn().await;
    let (alice, _) = app.mfa_user("alice").await;
    let mut passkey = register(&app, &alice).await;
    let r = app.token_login_attempt("alice", PASSWORD).await;
    let token = token_of(&r, json!(["totp", "recovery_code", "webauthn"]));
    pair_from(&answer(&app, &token, &mut passkey).await);
}

#[tokio::test]
async fn another_users_passkey_is_refused() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut alices = register(&app, &alice).await;
    let mut bobs = register(&app, &bob).await;
    let token = token_of(
        &app.token_login_attempt("alice", PASSWORD).await,
        json!(["webauthn"]),
    );
    let r = answer(&app, &token, &mut bobs).await;
    assert_problem(&r, 401, "invalid_code");
    // Bob's own pending login does not take Alice's ceremony either.
    let bobs_token = token_of(
        &app.token_login_attempt("bob", PASSWORD).await,
        json!(["webauthn"]),
    );
    let o = options(&app, &token).await;
    let credential = bobs.get(&o.json(), ORIGIN);
    let r = verify(&app, &bobs_token, &o.json()["challenge_id"], &credential).await;
    assert_problem(&r, 401, "invalid_code");
    // The refusals were strikes, not the end: Alice's passkey still works.
    pair_from(&answer(&app, &token, &mut alices).await);
}

#[tokio::test]
async fn a_challenge_is_answered_once() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let mut passkey = register(&app, &alice).await;
    let first = token_of(
        &app.token_login_attempt("alice", PASSWORD).await,
        json!(["webauthn"]),
    );
    let o = options(&app, &first).await;
    let credential = passkey.get(&o.json(), ORIGIN);
    let challenge = o.json()["challenge_id"].clone();
    pair_from(&verify(&app, &first, &challenge, &credential).await);
    // The mfa_token is spent...
    let r = verify(&app, &first, &challenge, &credential).await;
    assert_problem(&r, 401, "invalid_mfa_token");
    // ...and the ceremony too, for a new pending login.
    let second = token_of(
        &app.token_login_attempt("alice", PASSWORD).await,
        json!(["webauthn"]),
    );
    let r = verify(&app, &second, &challenge, &credential).await;
    assert_problem(&r, 401, "invalid_code");
    pair_from(&answer(&app, &second, &mut passkey).await);
}

#[tokio::test]
async fn a_wrong_mfa_token_is_refused() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let mut passkey = register(&app, &alice).await;
    let r = options(&app, "not-a-token").await;
    assert_problem(&r, 401, "invalid_mfa_token");
    let bogus = "A".repeat(43);
    assert_problem(&options(&app, &bogus).await, 401, "invalid_mfa_token");
    let token = token_of(
        &app.token_login_attempt("alice", PASSWORD).await,
        json!(["webauthn"]),
    );
    let o = options(&app, &token).await;
    let credential = passkey.get(&o.json(), ORIGIN);
    let r = verify(&app, &bogus, &o.json()["challenge_id"], &credential).await;
    assert_problem(&r, 401, "invalid_mfa_token");
}

#[tokio::test]
async fn five_refused_passkeys_end_the_mfa_token() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let mut passkey = register(&app, &alice).await;
    let token = token_of(
        &app.token_login_attempt("alice", PASSWORD).await,
        json!(["webauthn"]),
    );
    for _ in 0..5 {
        let o = options(&app, &token).await;
        let credential = passkey.get(&o.json(), "https://evil.test");
        let r = verify(&app, &token, &o.json()["challenge_id"], &credential).await;
        assert_problem(&r, 401, "invalid_code");
    }
    let r = options(&app, &token).await;
    assert_problem(&r, 401, "invalid_mfa_token");
}

/// The `/login` form's answer for alice's right password.
async fn page_login(app: &TestApp) -> Reply {
    app.send(
        app.post("/login")
            .form(&[("username", "alice"), ("password", PASSWORD)]),
    )
    .await
}

/// Whether the page may run latchkey's passkey script (and only that).
fn runs_the_passkey_script(r: &Reply) -> bool {
    crate::mfa_pages::assert_page(r, r.status);
    let csp = r.header("content-security-policy").unwrap_or_default();
    let tag = r
        .body
        .contains(r#"<script src="/assets/passkeys.js" defer></script>"#);
    assert_eq!(tag, csp.contains("script-src 'self'"), "{csp}");
    tag
}

#[tokio::test]
async fn the_pages_code_step_finishes_the_sign_in_with_the_users_passkey() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let mut passkey = register(&app, &alice).await;
    let r = page_login(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Two-step sign-in"), "{}", r.body);
    assert!(
        r.body.contains(r#"id="passkey-second""#),
        "an account whose only factor is a passkey is offered it: {}",
        r.body
    );
    assert!(runs_the_passkey_script(&r), "{}", r.body);
    assert!(
        r.set_cookies().is_empty(),
        "no cookie before the second step"
    );

    // What the page's script does: the ceremony for the form's pending
    // login, then `/v1/mfa/verify`, which answers the page's flavour (a
    // cookie session).
    let token = crate::mfa_pages::hidden(&r.body, "mfa_token");
    let r = answer(&app, &token, &mut passkey).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let login = app.login_from(&r);
    assert_eq!(login.user_id, alice.user_id);
    let account = app.send(app.get("/account").cookie_of(&login)).await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.body);
    let current = app.send(app.get("/v1/session").cookie_of(&login)).await;
    assert_eq!(current.json()["amr"], json!(["pwd", "hwk", "mfa"]));
}

#[tokio::test]
async fn a_wrong_code_on_the_page_keeps_offering_the_passkey() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    register(&app, &alice).await;
    let token = crate::mfa_pages::hidden(&page_login(&app).await.body, "mfa_token");
    let r = app
        .send(app.post("/login/code").form(&[
            ("mfa_token", token.as_str()),
            ("code", "000000"),
            ("passkey", "1"),
        ]))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(r.body.contains("That code is wrong"), "{}", r.body);
    assert!(r.body.contains(r#"id="passkey-second""#), "{}", r.body);
    assert!(runs_the_passkey_script(&r), "{}", r.body);
}

#[tokio::test]
async fn a_code_step_without_a_passkey_stays_script_free_and_points_to_the_passkey_sign_in() {
    let app = spawn().await;
    app.mfa_user("alice").await;
    let r = page_login(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("passkey-second"), "{}", r.body);
    assert!(!runs_the_passkey_script(&r), "{}", r.body);
    assert!(
        r.body
            .contains(r#"<a href="/login">Sign in with your passkey instead</a>"#),
        "{}",
        r.body
    );
}
