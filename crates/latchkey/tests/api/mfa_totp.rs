//! Managing TOTP and recovery codes over HTTP (API.md, "Second factors
//! and passkeys"), with each credential: enrol, confirm, remove,
//! regenerate, step up.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, RequestExt as _, TestApp, assert_problem, pair_from};
use crate::mfa_helpers::{base32_decode, mfa_token_of, totp_at_step};

#[tokio::test]
async fn enrolment_is_pending_until_a_right_code_confirms_it() {
    let app = TestApp::spawn().await;
    let login = app.user("alice").await;
    let r = app.send(app.post("/v1/mfa/totp").authed(&login)).await;
    let secret = base32_decode(r.json()["secret"].as_str().unwrap());
    let uri = r.json()["otpauth_uri"].as_str().unwrap().to_owned();
    assert!(uri.contains("alice") && uri.contains("issuer="), "{uri}");
    let wrong = totp_at_step(&secret, app.step() + 5);
    assert_problem(&app.confirm_totp(&login, &wrong).await, 401, "invalid_code");
    // Still pending: the password alone signs in.
    app.token_login("alice", PASSWORD).await;
    let r = app
        .confirm_totp(&login, &totp_at_step(&secret, app.step()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["recovery_codes"].as_array().unwrap().len(), 10);
    mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    // An active factor is not replaced by a new enrolment.
    let again = app.send(app.post("/v1/mfa/totp").authed(&login)).await;
    assert_problem(&again, 409, "mfa_already_enabled");
    // Nothing is pending any more.
    let code = totp_at_step(&secret, app.step() + 1);
    assert_problem(
        &app.confirm_totp(&login, &code).await,
        409,
        "mfa_not_enabled",
    );
}

#[tokio::test]
async fn a_bearer_token_can_enrol_and_cookies_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let login = app.user("alice").await;
    let forged = app.send(app.post("/v1/mfa/totp").cookie_of(&login)).await;
    assert_problem(&forged, 403, "csrf_failed");
    let anonymous = app.send(app.post("/v1/mfa/totp")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let pair = app.token_login("alice", PASSWORD).await;
    let r = app
        .send(app.post("/v1/mfa/totp").bearer(&pair.access))
        .await;
    let secret = base32_decode(r.json()["secret"].as_str().unwrap());
    let confirm = app
        .post("/v1/mfa/totp/confirm")
        .bearer(&pair.access)
        .json(&json!({ "code": totp_at_step(&secret, app.step()) }));
    assert_eq!(app.send(confirm).await.status, StatusCode::OK);
    mfa_token_of(&app.login_attempt("alice", PASSWORD).await);
}

#[tokio::test]
async fn the_hybrid_cookie_can_enrol_with_its_csrf_token() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let h = app.hybrid_login("alice", PASSWORD).await;
    let r = app
        .send(
            app.post("/v1/mfa/totp")
                .header("cookie", &h.access_cookie)
                .header("x-csrf-token", &h.csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn removing_totp_needs_the_password_or_a_recent_sign_in() {
    let app = TestApp::spawn().await;
    let (login, _) = app.mfa_user("alice").await;
    app.advance(Duration::from_secs(600));
    let remove = |body: serde_json::Value| app.delete("/v1/mfa/totp").authed(&login).json(&body);
    let wrong = app
        .send(remove(json!({ "password": "not-the-password" })))
        .await;
    assert_problem(&wrong, 401, "invalid_credentials");
    let none = app.send(remove(json!({}))).await;
    assert_problem(&none, 403, "reauthentication_required");
    let r = app.send(remove(json!({ "password": PASSWORD }))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // The password alone signs in again; removing twice is a conflict.
    app.token_login("alice", PASSWORD).await;
    let again = app.send(remove(json!({ "password": PASSWORD }))).await;
    assert_problem(&again, 409, "mfa_not_enabled");
}

#[tokio::test]
async fn a_sign_in_under_five_minutes_old_removes_totp_without_the_password() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    app.advance(Duration::from_secs(600));
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    let pair = pair_from(&app.verify(&token, &app.fresh_code(&totp)).await);
    app.advance(Duration::from_secs(240));
    let remove = app
        .delete("/v1/mfa/totp")
        .bearer(&pair.access)
        .json(&json!({}));
    let r = app.send(remove).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.token_login("alice", PASSWORD).await;
}

#[tokio::test]
async fn an_old_sign_in_cannot_remove_totp_without_the_password() {
    let app = TestApp::spawn().await;
    let (login, _) = app.mfa_user("alice").await;
    app.advance(Duration::from_secs(300));
    let r = app
        .send(app.delete("/v1/mfa/totp").authed(&login).json(&json!({})))
        .await;
    assert_problem(&r, 403, "reauthentication_required");
}

#[tokio::test]
async fn regenerating_recovery_codes_voids_the_old_set() {
    let app = TestApp::spawn().await;
    let (login, totp) = app.mfa_user("alice").await;
    let regenerate = |password: &str| {
        app.post("/v1/mfa/recovery-codes")
            .authed(&login)
            .json(&json!({ "password": password }))
    };
    let wrong = app.send(regenerate("not-the-password")).await;
    assert_problem(&wrong, 401, "invalid_credentials");
    let r = app.send(regenerate(PASSWORD)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new: Vec<String> = r.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new.len(), 10);
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    let old = app.verify(&token, &totp.recovery_codes[0]).await;
    assert_problem(&old, 401, "invalid_code");
    pair_from(&app.verify(&token, &new[0]).await);
}

#[tokio::test]
async fn step_up_rechecks_a_factor_and_makes_the_sign_in_recent() {
    let app = TestApp::spawn().await;
    let (login, totp) = app.mfa_user("alice").await;
    let step_up = |code: &str| {
        app.post("/v1/mfa/step-up")
            .authed(&login)
            .json(&json!({ "code": code }))
    };
    app.advance(Duration::from_secs(600));
    let code = app.fresh_code(&totp);
    let r = app.send(step_up(&code)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_problem(&app.send(step_up(&code)).await, 401, "invalid_code");
    // The session now says a second factor was used, just now.
    let s = app
        .send(app.get("/v1/session").cookie_of(&login))
        .await
        .json();
    assert_eq!(s["amr"], json!(["pwd", "otp", "mfa"]));
    let now = latchkey_core::Clock::now(app.clock.as_ref()).unix_seconds();
    assert_eq!(s["auth_time"], json!(now));
    // A recovery code steps up too.
    let r = app.send(step_up(&totp.recovery_codes[0])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // Recent again: TOTP can be removed without the password.
    let r = app
        .send(app.delete("/v1/mfa/totp").authed(&login).json(&json!({})))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
}

#[tokio::test]
async fn a_bearer_step_up_raises_the_tokens_minted_after_it() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    let pair = pair_from(&app.verify(&token, &app.fresh_code(&totp)).await);
    app.advance(Duration::from_secs(120));
    let r = app
        .send(
            app.post("/v1/mfa/step-up")
                .bearer(&pair.access)
                .json(&json!({ "code": app.fresh_code(&totp) })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let next = app.refresh(&pair.refresh).await;
    let before = crate::helpers::jwt_claims(&pair.access)["auth_time"]
        .as_i64()
        .unwrap();
    let after = crate::helpers::jwt_claims(&next.access)["auth_time"]
        .as_i64()
        .unwrap();
    assert!(after > before, "{before} -> {after}");
}

#[tokio::test]
async fn second_factor_outcomes_are_counted_in_metrics() {
    let app = TestApp::spawn().await;
    let (_, totp) = app.mfa_user("alice").await;
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    app.verify(&token, "000000").await;
    pair_from(&app.verify(&token, &app.fresh_code(&totp)).await);
    let text = app.send(app.get("/metrics")).await.body;
    for line in [
        r#"latchkey_mfa_total{method="totp",outcome="enrolled"} 1"#,
        r#"latchkey_mfa_total{method="totp",outcome="invalid_code"} 1"#,
        r#"latchkey_mfa_total{method="totp",outcome="success"} 1"#,
        r#"latchkey_login_attempts_total{outcome="mfa_required"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

#[tokio::test]
async fn an_operator_reset_removes_the_factors_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let (login, _) = app.mfa_user("alice").await;
    let user = latchkey_core::UserId::parse(&login.user_id).unwrap();
    let at = app.state.revoke_at();
    let ended = latchkey_auth::mfa::reset_mfa(app.state.store().as_ref(), at, user)
        .await
        .unwrap();
    assert_eq!(ended.sessions.len(), 1);
    app.state.ended(&ended);
    assert_eq!(app.session_status(&login).await, StatusCode::UNAUTHORIZED);
    app.token_login("alice", PASSWORD).await;
}
