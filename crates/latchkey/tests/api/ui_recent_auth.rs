//! Issue 12: "sign out everywhere" from the account page is a sensitive
//! operation and needs a sign-in under five minutes old (`recent_auth`),
//! so a session stolen earlier cannot sign its owner out everywhere.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::*;

fn sign_out_everywhere(app: &TestApp, login: &Login) -> reqwest::RequestBuilder {
    app.post("/account/logout-everywhere")
        .cookie_of(login)
        .form(&[("csrf_token", login.csrf.clone())])
}

#[tokio::test]
async fn signing_out_everywhere_from_the_page_needs_a_recent_sign_in() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    app.advance(Duration::from_secs(6 * 60));

    let refused = app.send(sign_out_everywhere(&app, &alice)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused
            .header("content-type")
            .unwrap()
            .starts_with("text/html"),
        "the account page with its error"
    );
    assert!(
        refused
            .body
            .contains("needs a sign-in from the last 5 minutes"),
        "{}",
        refused.body
    );
    // Nothing ended.
    let still = app.send(app.get("/v1/session").cookie_of(&alice)).await;
    assert_eq!(still.status, StatusCode::OK);

    // A fresh sign-in may.
    let fresh = app.login("alice", PASSWORD, false).await;
    let done = app.send(sign_out_everywhere(&app, &fresh)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.header("location"), Some("/login?out=1"));
    for login in [&alice, &fresh] {
        let gone = app.send(app.get("/v1/session").cookie_of(login)).await;
        assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
    }
}
