//! Cross-site request forgery: every unsafe cookie-authenticated route
//! needs the session's `X-CSRF-Token` and a same-site request; a refused
//! request changes nothing.

use reqwest::{RequestBuilder, StatusCode};
use serde_json::json;

use crate::helpers::{Login, PASSWORD, RequestExt as _, TestApp, assert_problem};

const NEW_PASSWORD: &str = "the-next-passphrase";

#[derive(Clone, Copy, Debug)]
enum Unsafe {
    Logout,
    EndOne,
    EndAll,
    ChangePassword,
}

const ROUTES: [Unsafe; 4] = [
    Unsafe::Logout,
    Unsafe::EndOne,
    Unsafe::EndAll,
    Unsafe::ChangePassword,
];

/// A user with two sessions: `main` makes the request; `other` is the
/// session `EndOne` targets (and a bystander for the other routes).
struct Case {
    username: String,
    main: Login,
    other: Login,
    other_id: String,
}

async fn setup(app: &TestApp, route: Unsafe) -> Case {
    let username = format!("{route:?}").to_ascii_lowercase();
    let main = app.user(&username).await;
    let other = app.login(&username, PASSWORD, false).await;
    let r = app.send(app.get("/v1/session").cookie_of(&other)).await;
    let other_id = r.json()["session"]["id"].as_str().unwrap().to_owned();
    Case {
        username,
        main,
        other,
        other_id,
    }
}

/// The request with `main`'s cookie and no CSRF token.
fn request(app: &TestApp, route: Unsafe, case: &Case) -> RequestBuilder {
    let rb = match route {
        Unsafe::Logout => app.post("/v1/session/logout"),
        Unsafe::EndOne => app.delete(&format!("/v1/sessions/{}", case.other_id)),
        Unsafe::EndAll => app.delete("/v1/sessions"),
        Unsafe::ChangePassword => {
            app.secret(NEW_PASSWORD);
            app.post("/v1/password").json(&json!({
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
            }))
        }
    };
    rb.cookie_of(&case.main)
}

async fn assert_nothing_happened(app: &TestApp, route: Unsafe, case: &Case) {
    assert_eq!(
        app.session_status(&case.main).await,
        StatusCode::OK,
        "{route:?}: the caller's session"
    );
    assert_eq!(
        app.session_status(&case.other).await,
        StatusCode::OK,
        "{route:?}: the other session"
    );
    if let Unsafe::ChangePassword = route {
        let new = app.login_attempt(&case.username, NEW_PASSWORD).await;
        assert_problem(&new, 401, "invalid_credentials");
    }
}

async fn assert_it_happened(app: &TestApp, route: Unsafe, case: &Case) {
    let (main, other) = match route {
        Unsafe::Logout => (StatusCode::UNAUTHORIZED, StatusCode::OK),
        Unsafe::EndOne => (StatusCode::OK, StatusCode::UNAUTHORIZED),
        Unsafe::EndAll => (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED),
        Unsafe::ChangePassword => (StatusCode::OK, StatusCode::UNAUTHORIZED),
    };
    assert_eq!(app.session_status(&case.main).await, main, "{route:?}");
    assert_eq!(app.session_status(&case.other).await, other, "{route:?}");
    if let Unsafe::ChangePassword = route {
        app.login(&case.username, NEW_PASSWORD, false).await;
    }
}

/// Sends each route's request as `refine` shapes it and expects a `403
/// csrf_failed` that changed nothing.
async fn assert_refused(refine: impl Fn(RequestBuilder, &Case) -> RequestBuilder) {
    let app = TestApp::spawn().await;
    for route in ROUTES {
        let case = setup(&app, route).await;
        let r = app.send(refine(request(&app, route, &case), &case)).await;
        assert_problem(&r, 403, "csrf_failed");
        assert!(r.set_cookies().is_empty(), "{route:?}: no cookie change");
        assert_nothing_happened(&app, route, &case).await;
    }
    app.assert_no_secret_leaked();
}

#[tokio::test]
async fn unsafe_routes_refuse_a_missing_csrf_token() {
    assert_refused(|rb, _| rb).await;
}

#[tokio::test]
async fn unsafe_routes_refuse_a_wrong_csrf_token() {
    assert_refused(|rb, case| {
        let mut wrong = case.main.csrf.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'A' { 'B' } else { 'A' });
        rb.header("x-csrf-token", wrong)
    })
    .await;
    assert_refused(|rb, _| rb.header("x-csrf-token", "")).await;
    assert_refused(|rb, case| rb.header("x-csrf-token", &case.main.cookie)).await;
}

#[tokio::test]
async fn unsafe_routes_refuse_the_token_of_another_session_of_the_same_user() {
    assert_refused(|rb, case| rb.csrf_of(&case.other)).await;
}

#[tokio::test]
async fn unsafe_routes_refuse_a_foreign_origin_even_with_the_right_token() {
    assert_refused(|rb, case| {
        rb.csrf_of(&case.main)
            .header("origin", "https://evil.example")
    })
    .await;
    assert_refused(|rb, case| rb.csrf_of(&case.main).header("origin", "null")).await;
}

#[tokio::test]
async fn unsafe_routes_refuse_a_cross_site_fetch_even_with_the_right_token() {
    assert_refused(|rb, case| {
        rb.csrf_of(&case.main)
            .header("sec-fetch-site", "cross-site")
    })
    .await;
    assert_refused(|rb, case| rb.csrf_of(&case.main).header("sec-fetch-site", "same-site")).await;
}

#[tokio::test]
async fn unsafe_routes_accept_the_right_token_from_the_same_origin() {
    let app = TestApp::spawn().await;
    for route in ROUTES {
        let case = setup(&app, route).await;
        let r = app
            .send(
                request(&app, route, &case)
                    .csrf_of(&case.main)
                    .header("sec-fetch-site", "same-origin")
                    .header("origin", &app.base),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{route:?}: {}", r.body);
        assert_it_happened(&app, route, &case).await;
    }
    app.assert_no_secret_leaked();
}

#[tokio::test]
async fn the_configured_public_origin_is_accepted_as_origin() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.http.public_origin = Some("https://auth.example.com".into());
    })
    .await;
    let alice = app.user("alice").await;
    let r = app
        .send(
            app.post("/v1/session/logout")
                .authed(&alice)
                .header("origin", "https://auth.example.com")
                .header("sec-fetch-site", "same-origin"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
}

#[tokio::test]
async fn login_refuses_cross_site_requests() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let refusals = [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
        ("origin", "null"),
    ];
    for (name, value) in refusals {
        let r = app
            .send(
                app.login_request("alice", PASSWORD, None)
                    .header(name, value),
            )
            .await;
        assert_problem(&r, 403, "csrf_failed");
        assert!(r.set_cookies().is_empty(), "{name}: {value}: no session");
    }
    // The same login from the same origin works.
    let r = app
        .send(
            app.login_request("alice", PASSWORD, None)
                .header("sec-fetch-site", "same-origin")
                .header("origin", &app.base),
        )
        .await;
    app.login_from(&r);
}

#[tokio::test]
async fn safe_routes_need_no_csrf_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    for path in ["/v1/session", "/v1/sessions", "/v1/me"] {
        let r = app.send(app.get(path).cookie_of(&alice)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
}
