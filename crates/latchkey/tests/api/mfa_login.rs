//! The two-step login (API.md, "Second factors and passkeys"): every
//! login flavour of a user with an active factor answers `mfa_required`,
//! and `/v1/mfa/verify` ends it with that flavour's own success.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    PASSWORD, RequestExt as _, SetCookie, TestApp, USER_AGENT, assert_problem, pair_from,
};
use crate::mfa_helpers::{mfa_token_of, totp_at_step};

#[tokio::test]
async fn a_session_login_needs_the_code_and_then_sets_the_session_cookie() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let r = app
        .send(app.login_request("alice", PASSWORD, Some(true)))
        .await;
    let token = mfa_token_of(&r);
    let r = app.verify(&token, &app.fresh_code(&totp)).await;
    let login = app.login_from(&r);
    assert_eq!(login.username, "alice");
    // "remember" carried through the second step.
    assert!(
        SetCookie::parse(&login.set_cookie)
            .attr("max-age")
            .is_some()
    );
    assert_eq!(app.session_status(&login).await, StatusCode::OK);
    let me = app.send(app.get("/v1/session").cookie_of(&login)).await;
    assert_eq!(
        me.json()["amr"],
        json!(["pwd", "otp", "mfa"]),
        "{}",
        me.body
    );
    app.assert_no_secret_leaked();
}

#[tokio::test]
async fn a_token_login_needs_the_code_and_then_answers_a_bearer_pair() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let r = app.token_login_attempt("alice", PASSWORD).await;
    let token = mfa_token_of(&r);
    let r = app.verify(&token, &app.fresh_code(&totp)).await;
    let pair = pair_from(&r);
    assert_eq!(r.json()["token_type"], "Bearer");
    let claims = crate::helpers::jwt_claims(&pair.access);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert!(claims["auth_time"].is_i64());
    assert!(r.set_cookies().is_empty());
    app.assert_bearer_works(&pair.access).await;
    // The refresh token rotates as any other.
    app.refresh(&pair.refresh).await;
}

#[tokio::test]
async fn a_hybrid_login_needs_the_code_and_then_sets_both_cookies() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let r = app
        .send(
            app.post("/v1/cookie/login")
                .json(&json!({ "username": "alice", "password": PASSWORD })),
        )
        .await;
    let token = mfa_token_of(&r);
    let r = app.verify(&token, &app.fresh_code(&totp)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let names: Vec<String> = r
        .set_cookies()
        .iter()
        .map(|c| SetCookie::parse(c).name)
        .collect();
    assert!(names.iter().any(|n| n.ends_with("lk_at")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("lk_rt")), "{names:?}");
    let body = r.json();
    assert!(body["csrf_token"].is_string() && body["expires_in"].is_i64());
    assert_eq!(body["user"]["username"], "alice");
}

#[tokio::test]
async fn a_user_without_a_factor_signs_in_with_the_password_alone() {
    let app = TestApp::spawn().await;
    let login = app.user("bob").await;
    // A pending enrolment is not active.
    let r = app.send(app.post("/v1/mfa/totp").authed(&login)).await;
    assert_eq!(r.status, StatusCode::OK);
    app.login("bob", PASSWORD, false).await;
    app.token_login("bob", PASSWORD).await;
}

#[tokio::test]
async fn a_wrong_code_is_invalid_code_and_five_end_the_mfa_token() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    let right = app.fresh_code(&totp);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        assert_problem(&app.verify(&token, wrong).await, 401, "invalid_code");
    }
    assert_problem(&app.verify(&token, &right).await, 401, "invalid_mfa_token");
}

#[tokio::test]
async fn a_totp_code_is_accepted_once() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let code = app.fresh_code(&totp);
    let first = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    pair_from(&app.verify(&first, &code).await);
    // The same code again, in a new login within its window: refused.
    let second = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    assert_problem(&app.verify(&second, &code).await, 401, "invalid_code");
    // The pending login survives a replay: the next step's code completes it.
    pair_from(&app.verify(&second, &app.fresh_code(&totp)).await);
}

#[tokio::test]
async fn the_mfa_token_is_single_use() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    pair_from(&app.verify(&token, &app.fresh_code(&totp)).await);
    let again = app.verify(&token, &app.fresh_code(&totp)).await;
    assert_problem(&again, 401, "invalid_mfa_token");
}

#[tokio::test]
async fn the_mfa_token_expires_after_five_minutes() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    app.advance(Duration::from_secs(300));
    let code = totp_at_step(&totp.secret, app.step());
    assert_problem(&app.verify(&token, &code).await, 401, "invalid_mfa_token");
}

#[tokio::test]
async fn the_mfa_token_is_bound_to_its_client() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    let code = app.fresh_code(&totp);
    let elsewhere = app
        .verify_request(&token, &code)
        .header("user-agent", format!("{USER_AGENT} (another browser)"));
    assert_problem(&app.send(elsewhere).await, 401, "invalid_mfa_token");
    // The right client still completes it.
    pair_from(&app.verify(&token, &code).await);
}

#[tokio::test]
async fn a_recovery_code_completes_a_login_once() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let code = &totp.recovery_codes[3];
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    pair_from(&app.verify(&token, code).await);
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    assert_problem(&app.verify(&token, code).await, 401, "invalid_code");
    // Another code of the set still works.
    pair_from(&app.verify(&token, &totp.recovery_codes[4]).await);
}

#[tokio::test]
async fn an_unknown_mfa_token_is_invalid_mfa_token() {
    let app = TestApp::spawn().await;
    let r = app.verify("not-a-token", "123456").await;
    assert_problem(&r, 401, "invalid_mfa_token");
    let r = app.verify(&"A".repeat(43), "123456").await;
    assert_problem(&r, 401, "invalid_mfa_token");
}

#[tokio::test]
async fn second_steps_are_throttled_like_logins() {
    let app = TestApp::spawn_with(|c| c.http.login_limits.per_account = 4).await;
    let (_, totp) = app.mfa_user("alice").await;
    // The password attempt stays counted while its second step is open,
    // and each wrong code counts: the account's limit is reached.
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    let mut last = None;
    for _ in 0..4 {
        let r = app.verify(&token, "000000").await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            last = Some(r);
            break;
        }
    }
    let r = last.expect("a 429 before the fifth wrong code");
    assert_problem(&r, 429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    // Not even the right code gets through while limited.
    let right = app.verify(&token, &app.fresh_code(&totp)).await;
    assert_problem(&right, 429, "rate_limited");
}

#[tokio::test]
async fn a_cross_site_verify_is_refused() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let r = app.send(app.login_request("alice", PASSWORD, None)).await;
    let token = mfa_token_of(&r);
    let forged = app
        .verify_request(&token, &app.fresh_code(&totp))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site");
    assert_problem(&app.send(forged).await, 403, "csrf_failed");
}
