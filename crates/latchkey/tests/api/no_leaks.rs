//! No response body ever carries a password, a session cookie value or a
//! CSRF token — except a login response's own `csrf_token`.

use serde_json::json;

use crate::helpers::{PASSWORD, RequestExt as _, TestApp};

#[tokio::test]
async fn no_response_body_contains_a_password_a_cookie_or_a_csrf_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let second = app.login("alice", PASSWORD, true).await;
    let bob = app.user("bob").await;
    let other_pw = "bobs-other-passphrase";
    app.secret(other_pw);
    let long = "L".repeat(300);
    app.secret(&long);

    // Reads.
    for path in ["/v1/session", "/v1/sessions", "/v1/me", "/metrics"] {
        app.send(app.get(path).cookie_of(&alice)).await;
    }
    // Failed logins and registrations of every kind.
    app.login_attempt("alice", other_pw).await;
    app.login_attempt("nobody", other_pw).await;
    app.login_attempt("alice", &long).await;
    app.register("alice", other_pw).await;
    app.register("carol", &long).await;
    app.send(
        app.post("/v1/session/login")
            .json(&json!({"username": "alice", "password": PASSWORD, "remember": other_pw})),
    )
    .await;
    app.send(
        app.post("/v1/session/login")
            .header("content-type", "application/json")
            .body(format!(r#"{{"username":"alice","password":"{other_pw}""#)),
    )
    .await;
    app.send(
        app.post("/v1/session/login")
            .header("content-type", "text/plain")
            .body(format!(r#"{{"username":"alice","password":"{other_pw}"}}"#)),
    )
    .await;
    // Refused and accepted unsafe requests.
    app.send(app.delete("/v1/sessions").cookie_of(&alice).csrf_of(&bob))
        .await;
    app.send(
        app.post("/v1/password")
            .authed(&alice)
            .json(&json!({"current_password": other_pw, "new_password": long})),
    )
    .await;
    app.send(
        app.post("/v1/password")
            .authed(&alice)
            .json(&json!({"current_password": PASSWORD, "new_password": long})),
    )
    .await;
    app.send(
        app.post("/v1/password")
            .authed(&alice)
            .json(&json!({"current_password": PASSWORD, "new_password": other_pw})),
    )
    .await;
    // Stale credentials.
    app.send(app.get("/v1/session").cookie_of(&second)).await;
    app.send(
        app.delete(&format!("/v1/sessions/{}", second.cookie))
            .authed(&alice),
    )
    .await;
    app.send(app.post("/v1/session/logout").authed(&alice))
        .await;
    app.send(app.get("/v1/me").cookie_of(&alice)).await;
    app.send(app.get("/v1/me").cookie_of(&bob)).await;

    app.assert_no_secret_leaked();
}
