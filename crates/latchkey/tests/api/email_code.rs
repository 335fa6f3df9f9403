//! Sign-in by a mailed code against a real SMTP server.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::email_helpers::{SmtpPeer, mailed_code, smtp_enabled};
use crate::helpers::{RequestExt as _, TestApp, assert_problem, jwt_claims};

/// Asks for a code for `email` and returns it once message `nth` arrives.
async fn code_for(app: &TestApp, peer: &SmtpPeer, nth: usize, email: &str) -> String {
    assert_eq!(app.ask_code(email).await.status, StatusCode::ACCEPTED);
    mailed_code(&peer.nth(nth).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailed_code_signs_in_once_in_every_flavour_with_amr_email() {
    if !smtp_enabled() {
        return;
    }
    let peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    app.verified_user(&peer, 1, "alice", "alice@example.com")
        .await;

    let code = code_for(&app, &peer, 2, "alice@example.com").await;
    let r = app.code_login("alice@example.com", &code, "session").await;
    let login = app.login_from(&r);
    let me = app
        .send(app.get("/v1/session").cookie_of(&login))
        .await
        .json();
    assert_eq!(me["amr"], json!(["email"]));
    // Single use.
    let again = app.code_login("alice@example.com", &code, "session").await;
    assert_problem(&again, 401, "invalid_code");

    let code = code_for(&app, &peer, 3, "alice@example.com").await;
    let r = app
        .code_login(
            "ALICE@example.COM".replace("ALICE", "alice").as_str(),
            &code,
            "tokens",
        )
        .await;
    let pair = crate::helpers::pair_from(&r);
    assert_eq!(jwt_claims(&pair.access)["amr"], json!(["email"]));
    app.assert_bearer_works(&pair.access).await;

    let code = code_for(&app, &peer, 4, "alice@example.com").await;
    let r = app
        .code_login("alice@example.com", &code, "cookie_jwt")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let body: Value = r.json();
    assert!(
        body["csrf_token"].is_string() && body["expires_in"].is_number(),
        "{body}"
    );
    assert!(r.set_cookies().iter().any(|c| c.contains("lk_at=")));
    app.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_codes_end_the_code_and_unknown_addresses_get_the_same_answer() {
    if !smtp_enabled() {
        return;
    }
    let peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    app.verified_user(&peer, 1, "alice", "alice@example.com")
        .await;
    let code = code_for(&app, &peer, 2, "alice@example.com").await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        let r = app.code_login("alice@example.com", wrong, "session").await;
        assert_problem(&r, 401, "invalid_code");
    }
    // The right code no longer works: the fifth wrong one ended it.
    let r = app.code_login("alice@example.com", &code, "session").await;
    assert_problem(&r, 401, "invalid_code");
    // An unknown address: the same answer, and no mail.
    assert_eq!(
        app.ask_code("nobody@example.com").await.status,
        StatusCode::ACCEPTED
    );
    let r = app
        .code_login("nobody@example.com", "123456", "session")
        .await;
    assert_problem(&r, 401, "invalid_code");
    // A new code works again.
    let code = code_for(&app, &peer, 3, "alice@example.com").await;
    assert_eq!(peer.messages().len(), 3);
    let r = app.code_login("alice@example.com", &code, "session").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_a_second_factor_still_needs_it_after_a_code() {
    if !smtp_enabled() {
        return;
    }
    let peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    let (login, totp) = app.mfa_user("alice").await;
    let r = app
        .send(
            app.post("/v1/email")
                .authed(&login)
                .json(&json!({ "email": "alice@example.com" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let link = crate::email_helpers::link_token(&peer.nth(1).await);
    assert_eq!(app.verify_link(&link).await.status, 204);
    let code = code_for(&app, &peer, 2, "alice@example.com").await;
    let r = app.code_login("alice@example.com", &code, "tokens").await;
    let mfa_token = crate::mfa_helpers::mfa_token_of(&r);
    let r = app.verify(&mfa_token, &app.fresh_code(&totp)).await;
    let pair = crate::helpers::pair_from(&r);
    // `email` counts towards no factor (`latchkey_core::assurance`), so
    // the code and the TOTP step make no `mfa`.
    assert_eq!(jwt_claims(&pair.access)["amr"], json!(["email", "otp"]));
}
