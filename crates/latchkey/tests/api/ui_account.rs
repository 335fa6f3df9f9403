//! The account page's password form answers refusals post/redirect/get
//! with the error at the form; a confirmation must match; the current
//! password is refused as the new one; a failed sign-in focuses the
//! password; `GET /` leads somewhere useful.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::mfa_pages::hidden;

async fn change(app: &TestApp, login: &Login, current: &str, new: &str, confirm: &str) -> Reply {
    let page = app.send(app.get("/account").cookie_of(login)).await;
    let csrf = hidden(&page.body, "csrf_token");
    app.send(app.post("/account/password").cookie_of(login).form(&[
        ("csrf_token", csrf.as_str()),
        ("current_password", current),
        ("new_password", new),
        ("confirm_password", confirm),
    ]))
    .await
}

#[tokio::test]
async fn password_form_refusals_redirect_to_the_form_with_the_reason() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let cases = [
        (
            "not the password",
            "another good password",
            "another good password",
            "wrong",
            "The current password is wrong.",
        ),
        (
            PASSWORD,
            "another good password",
            "another good passw0rd",
            "mismatch",
            "The two new passwords differ.",
        ),
        (
            PASSWORD,
            PASSWORD,
            PASSWORD,
            "unchanged",
            "The new password is the current one; choose another.",
        ),
        (
            PASSWORD,
            "short",
            "short",
            "policy",
            "The new password must be 8 to 256 characters",
        ),
    ];
    for (current, new, confirm, why, says) in cases {
        let r = change(&app, &alice, current, new, confirm).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{why}: {}", r.body);
        let to = r.header("location").unwrap().to_owned();
        assert_eq!(to, format!("/account?password_error={why}#change-password"));
        let page = app.send(app.get(&to).cookie_of(&alice)).await;
        assert_eq!(page.status, StatusCode::OK);
        let card = &page.body[page.body.find("id=\"change-password\"").unwrap()..];
        assert!(card.contains(says), "{why}: {card}");
        assert!(card.contains("autofocus"), "{why}: focus on the form");
    }
    // Nothing changed: the password still signs in.
    app.login("alice", PASSWORD, false).await;
    let ok = change(
        &app,
        &alice,
        PASSWORD,
        "a brand new passphrase",
        "a brand new passphrase",
    )
    .await;
    assert_eq!(ok.header("location"), Some("/account?notice=password"));
}

#[tokio::test]
async fn the_current_password_is_refused_as_the_new_one_in_json_too() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let r = app
        .send(
            app.post("/v1/password")
                .cookie_of(&alice)
                .csrf_of(&alice)
                .json(&json!({"current_password": PASSWORD, "new_password": PASSWORD})),
        )
        .await;
    assert_problem(&r, 422, "password_unchanged");
    assert_eq!(
        app.session_status(&alice).await,
        StatusCode::OK,
        "nothing ended"
    );
}

#[tokio::test]
async fn a_failed_sign_in_focuses_the_password_and_the_root_leads_to_the_account() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let input = |body: &str, id: &str| -> String {
        let at = body.find(&format!("id=\"{id}\"")).unwrap();
        body[at..at + body[at..].find('>').unwrap()].to_owned()
    };
    let blank = app.send(app.get("/login")).await;
    assert!(input(&blank.body, "username").contains("autofocus"));
    assert!(!input(&blank.body, "password").contains("autofocus"));
    let failed = app
        .send(
            app.post("/login")
                .form(&[("username", "alice"), ("password", "wrong one")]),
        )
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    assert!(
        input(&failed.body, "password").contains("autofocus"),
        "{}",
        failed.body
    );
    assert!(!input(&failed.body, "username").contains("autofocus"));
    let root = app.send(app.get("/")).await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.header("location"), Some("/account"));
}
