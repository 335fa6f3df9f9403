//! Issue 10, item 7: the pages' form routes answer a form they cannot read
//! with an HTML error page (with the pages' headers), never the framework's
//! `text/plain` rejection; the API answers problem JSON.

use reqwest::{RequestBuilder, StatusCode};
use serde_json::json;

use crate::helpers::{Login, PASSWORD, Reply, RequestExt as _, TestApp, assert_problem};

/// The headers every page carries, as `GET /login` sends them, less what
/// lets the sign-in page run the passkey script (an error page has none).
async fn page_headers(app: &TestApp) -> (String, String) {
    let r = app.send(app.get("/login")).await;
    assert_eq!(r.status, StatusCode::OK);
    (
        r.header("content-security-policy")
            .expect("a page has a CSP")
            .replace("; script-src 'self'; connect-src 'self'", ""),
        r.header("cache-control").expect("cache-control").to_owned(),
    )
}

async fn assert_error_page(app: &TestApp, r: &Reply, status: u16, what: &str) {
    let (csp, cache) = page_headers(app).await;
    assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{what}: {ct}: {}", r.body);
    assert_eq!(
        r.header("content-security-policy"),
        Some(csp.as_str()),
        "{what}"
    );
    assert_eq!(r.header("cache-control"), Some(cache.as_str()), "{what}");
    assert!(r.body.starts_with("<!DOCTYPE html>"), "{what}: {}", r.body);
}

/// The account's form routes, each with a complete form for `login`.
fn account_forms(login: &Login) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let csrf = ("csrf_token", login.csrf.clone());
    vec![
        ("/logout", vec![csrf.clone()]),
        ("/account/logout-everywhere", vec![csrf.clone()]),
        (
            "/account/sessions/AAAAAAAAAAAAAAAAAAAAAA/end",
            vec![csrf.clone()],
        ),
        (
            "/account/password",
            vec![
                csrf,
                ("current_password", PASSWORD.to_owned()),
                ("new_password", "another-long-password".to_owned()),
            ],
        ),
    ]
}

fn as_json(rb: RequestBuilder, fields: &[(&str, String)]) -> RequestBuilder {
    let body: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    rb.json(&body)
}

#[tokio::test]
async fn i10_07_login_form_with_a_wrong_content_type_is_an_html_page() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let fields = [
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let r = app.send(as_json(app.post("/login"), &fields)).await;
    assert_error_page(&app, &r, 415, "POST /login as JSON").await;
    let r = app
        .send(
            app.post("/login")
                .header("content-type", "text/plain")
                .body("x"),
        )
        .await;
    assert_error_page(&app, &r, 415, "POST /login as text").await;
}

#[tokio::test]
async fn i10_07_login_form_with_a_missing_field_is_an_html_page() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let r = app
        .send(app.post("/login").form(&[("username", "alice")]))
        .await;
    assert_error_page(&app, &r, 422, "POST /login without a password").await;
    let r = app
        .send(app.post("/login").form(&[("password", PASSWORD)]))
        .await;
    assert_error_page(&app, &r, 422, "POST /login without a username").await;
}

#[tokio::test]
async fn i10_07_account_forms_with_a_wrong_content_type_are_html_pages() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    for (path, fields) in account_forms(&alice) {
        let r = app
            .send(as_json(app.post(path).cookie_of(&alice), &fields))
            .await;
        assert_error_page(&app, &r, 415, &format!("POST {path} as JSON")).await;
    }
    // Nothing was done: the session still works.
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
}

#[tokio::test]
async fn i10_07_account_forms_with_a_missing_field_are_html_pages() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    for (path, fields) in account_forms(&alice) {
        // The last field left out (for the CSRF-only forms, the token).
        let short = &fields[..fields.len() - 1];
        let r = app.send(app.post(path).cookie_of(&alice).form(short)).await;
        assert_error_page(&app, &r, 422, &format!("POST {path} short")).await;
    }
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
}

#[tokio::test]
async fn i10_07_page_errors_after_the_form_is_read_are_html_pages() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let form = [("csrf_token", alice.csrf.clone())];
    // No such session of alice's.
    let r = app
        .send(
            app.post("/account/sessions/AAAAAAAAAAAAAAAAAAAAAA/end")
                .cookie_of(&alice)
                .form(&form),
        )
        .await;
    assert_error_page(&app, &r, 404, "ending an unknown session").await;
    // A handle that is not even UTF-8 once decoded.
    let r = app
        .send(
            app.post("/account/sessions/%FF/end")
                .cookie_of(&alice)
                .form(&form),
        )
        .await;
    assert_error_page(&app, &r, 404, "ending a malformed handle").await;
}

#[tokio::test]
async fn i10_07_pages_ignore_a_query_they_cannot_read() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let r = app.send(app.get("/login?out=1&out=2")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let r = app
        .send(app.get("/account?notice=a&notice=b").cookie_of(&alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn i10_07_api_path_that_is_not_utf8_is_problem_json() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let r = app
        .send(app.delete("/v1/sessions/%FF").authed(&alice))
        .await;
    assert_problem(&r, 404, "not_found");
}
