//! The admin API (API.md, "Operators: admin API and audit trail"): admin
//! keys only, each route's scope, the user listing, disabling and deleting
//! ending every credential at once (on this node and the next), second
//! factors reset, key rotation, and `admin.listen`.

use std::time::Duration;

use latchkey_auth::admin::create_admin_key;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A live admin key with `scopes` (none: every scope).
pub async fn admin_key(app: &TestApp, name: &str, scopes: &[&str]) -> String {
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let made = create_admin_key(app.state.store.as_ref(), START, name, &scopes)
        .await
        .expect("admin key");
    made.key.to_string()
}

impl TestApp {
    async fn admin(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut rb = self.request(method, path).bearer(key);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        self.send(rb).await
    }
}

#[tokio::test]
async fn admin_routes_accept_an_admin_key_and_nothing_a_user_holds() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app, "ops", &[]).await;
    let alice = app.user("alice").await;
    let pair = app.token_login("alice", PASSWORD).await;
    let none = app.send(app.get("/admin/v1/users")).await;
    assert_problem(&none, 401, "invalid_admin_key");
    assert!(none.header("www-authenticate").is_some());
    let with_cookie = app.send(app.get("/admin/v1/users").cookie_of(&alice)).await;
    assert_problem(&with_cookie, 401, "invalid_admin_key");
    let with_jwt = app
        .send(app.get("/admin/v1/users").bearer(&pair.access))
        .await;
    assert_problem(&with_jwt, 401, "invalid_admin_key");
    let forged = format!("{}x", &key[..key.len() - 1]);
    let r = app
        .admin(&forged, reqwest::Method::GET, "/admin/v1/users", None)
        .await;
    assert_problem(&r, 401, "invalid_admin_key");
    let r = app
        .admin(&key, reqwest::Method::GET, "/admin/v1/users", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // And an admin key is no user credential.
    app.assert_bearer_refused(&key).await;
    // Revoked, it stops at once.
    assert!(
        app.state
            .store
            .revoke_admin_key("ops", START)
            .await
            .unwrap()
    );
    let r = app
        .admin(&key, reqwest::Method::GET, "/admin/v1/users", None)
        .await;
    assert_problem(&r, 401, "invalid_admin_key");
}

#[tokio::test]
async fn each_admin_route_needs_its_scope() {
    let app = TestApp::spawn().await;
    let reader = admin_key(&app, "reader", &["users:read"]).await;
    let alice = app.user("alice").await;
    let id = &alice.user_id;
    let get = reqwest::Method::GET;
    let r = app
        .admin(&reader, get.clone(), &format!("/admin/v1/users/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let refused = [
        (
            reqwest::Method::PATCH,
            format!("/admin/v1/users/{id}"),
            Some(json!({"disabled": true})),
        ),
        (
            reqwest::Method::DELETE,
            format!("/admin/v1/users/{id}"),
            None,
        ),
        (
            reqwest::Method::DELETE,
            format!("/admin/v1/users/{id}/sessions"),
            None,
        ),
        (
            reqwest::Method::DELETE,
            format!("/admin/v1/users/{id}/mfa"),
            None,
        ),
        (
            reqwest::Method::POST,
            "/admin/v1/users".to_owned(),
            Some(json!({"username": "x1"})),
        ),
        (
            reqwest::Method::POST,
            "/admin/v1/keys/rotate".to_owned(),
            None,
        ),
    ];
    for (method, path, body) in refused {
        let r = app.admin(&reader, method.clone(), &path, body).await;
        assert_problem(&r, 403, "insufficient_scope");
    }
    assert_eq!(
        app.session_status(&alice).await,
        StatusCode::OK,
        "nothing changed"
    );
}

#[tokio::test]
async fn users_are_created_listed_page_by_page_and_searched() {
    let app = TestApp::spawn_with(|c| c.http.allow_registration = false).await;
    let key = admin_key(&app, "ops", &[]).await;
    let post = reqwest::Method::POST;
    for name in ["dave", "bob", "carol", "alice", "bobby"] {
        let r = app
            .admin(
                &key,
                post.clone(),
                "/admin/v1/users",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.json()["username"], name);
        assert_eq!(r.json()["disabled"], false);
    }
    let taken = app
        .admin(
            &key,
            post.clone(),
            "/admin/v1/users",
            Some(json!({"username": "BOB"})),
        )
        .await;
    assert_problem(&taken, 409, "username_taken");
    let weak = app
        .admin(
            &key,
            post,
            "/admin/v1/users",
            Some(json!({"username": "erin", "password": "short"})),
        )
        .await;
    assert_problem(&weak, 422, "invalid_password");
    // Registration is closed, but an operator's users sign in.
    app.login("carol", PASSWORD, false).await;

    let page = |path: String| {
        let (app, key) = (&app, &key);
        async move { app.admin(key, reqwest::Method::GET, &path, None).await }
    };
    let names = |r: &Reply| -> Vec<String> {
        r.json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = page("/admin/v1/users?limit=2".into()).await;
    assert_eq!(names(&first), ["alice", "bob"]);
    let cursor = first.json()["next_cursor"].as_str().unwrap().to_owned();
    let second = page(format!("/admin/v1/users?limit=2&cursor={cursor}")).await;
    assert_eq!(names(&second), ["bobby", "carol"]);
    let cursor = second.json()["next_cursor"].as_str().unwrap().to_owned();
    let last = page(format!("/admin/v1/users?limit=2&cursor={cursor}")).await;
    assert_eq!(names(&last), ["dave"]);
    assert_eq!(last.json()["next_cursor"], Value::Null);
    assert_eq!(
        names(&page("/admin/v1/users?q=BOB".into()).await),
        ["bob", "bobby"]
    );
    assert_problem(
        &page("/admin/v1/users?limit=0".into()).await,
        400,
        "invalid_request",
    );
    assert_problem(
        &page("/admin/v1/users?cursor=%%%".into()).await,
        400,
        "invalid_request",
    );
}

/// Sign-ins of `name` with the right password: the answer of a wrong one.
async fn assert_signs_in_like_a_wrong_password(app: &TestApp, name: &str) {
    let right = app.login_attempt(name, PASSWORD).await;
    let wrong = app.login_attempt(name, "not the password at all").await;
    assert_problem(&right, 401, "invalid_credentials");
    assert_eq!(right.body, wrong.body);
}

#[tokio::test]
async fn disabling_a_user_ends_every_credential_on_every_node_and_sign_in_fails_like_a_wrong_password()
 {
    let app = TestApp::spawn().await;
    let beside = app.spawn_beside().await;
    let key = admin_key(&app, "ops", &[]).await;
    let alice = app.user("alice").await;
    let pair = app.token_login("alice", PASSWORD).await;
    let hybrid = app.hybrid_login("alice", PASSWORD).await;
    beside.assert_bearer_works(&pair.access).await;
    let path = format!("/admin/v1/users/{}", alice.user_id);

    let r = app
        .admin(
            &key,
            reqwest::Method::PATCH,
            &path,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["disabled"], true);
    assert_eq!(app.session_status(&alice).await, StatusCode::UNAUTHORIZED);
    app.assert_bearer_refused(&pair.access).await;
    assert_invalid_grant(&app.refresh_attempt(&pair.refresh).await);
    let me = app
        .send(
            app.get("/v1/me")
                .header("cookie", hybrid.access_cookie.clone()),
        )
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.body);
    assert_signs_in_like_a_wrong_password(&app, "alice").await;
    // The other node refuses the access token as soon as the revocation
    // feed reaches it (it polls every second).
    let mut refused = false;
    for _ in 0..100 {
        if beside.me_bearer(&pair.access).await.status == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the other node refuses the disabled user's token");

    let r = app
        .admin(
            &key,
            reqwest::Method::PATCH,
            &path,
            Some(json!({"disabled": false})),
        )
        .await;
    assert_eq!(r.json()["disabled"], false);
    app.advance(Duration::from_secs(1));
    app.login("alice", PASSWORD, false).await;
}

#[tokio::test]
async fn deleting_a_user_ends_their_tokens_and_frees_nothing_else() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app, "ops", &[]).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let pair = app.token_login("alice", PASSWORD).await;
    let path = format!("/admin/v1/users/{}", alice.user_id);
    let r = app.admin(&key, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.assert_bearer_refused(&pair.access).await;
    assert_problem(
        &app.admin(&key, reqwest::Method::GET, &path, None).await,
        404,
        "user_not_found",
    );
    assert_problem(
        &app.admin(&key, reqwest::Method::DELETE, &path, None).await,
        404,
        "user_not_found",
    );
    assert_problem(
        &app.admin(
            &key,
            reqwest::Method::GET,
            "/admin/v1/users/not-an-id",
            None,
        )
        .await,
        404,
        "user_not_found",
    );
    assert_eq!(app.session_status(&bob).await, StatusCode::OK);
}

#[tokio::test]
async fn an_operator_lists_and_ends_a_users_sessions_and_resets_second_factors() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app, "ops", &[]).await;
    let (enrolled, _) = app.mfa_user("alice").await;
    let id = &enrolled.user_id;
    let user = app
        .admin(
            &key,
            reqwest::Method::GET,
            &format!("/admin/v1/users/{id}"),
            None,
        )
        .await;
    assert_eq!(user.json()["mfa"], json!(["totp", "recovery_code"]));
    let sessions_path = format!("/admin/v1/users/{id}/sessions");
    let listed = app
        .admin(&key, reqwest::Method::GET, &sessions_path, None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let r = app
        .admin(
            &key,
            reqwest::Method::DELETE,
            &format!("/admin/v1/users/{id}/mfa"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // The password alone signs in again, and the listing shows that session.
    let login = app.login("alice", PASSWORD, false).await;
    let listed = app
        .admin(&key, reqwest::Method::GET, &sessions_path, None)
        .await;
    let sessions = listed.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["amr"], json!(["pwd"]));
    assert_eq!(sessions[0]["user_agent"], USER_AGENT);
    let r = app
        .admin(&key, reqwest::Method::DELETE, &sessions_path, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.session_status(&login).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn keys_rotate_from_the_admin_api_and_this_node_signs_with_the_new_key_at_once() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app, "ops", &["keys:write"]).await;
    app.user("alice").await;
    let before = app.token_login("alice", PASSWORD).await;
    let r = app
        .admin(&key, reqwest::Method::POST, "/admin/v1/keys/rotate", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let kid = r.json()["kid"].as_str().unwrap().to_owned();
    assert!(app.jwks_kids().await.contains(&kid));
    let after = app.token_login("alice", PASSWORD).await;
    let header = |t: &str| -> Value {
        use base64::Engine as _;
        let h = t.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header(&after.access)["kid"], kid.as_str());
    app.assert_bearer_works(&before.access).await;
}

#[tokio::test]
async fn admin_listen_moves_the_admin_api_off_the_public_listener() {
    let app = TestApp::spawn_with(|c| c.admin_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let key = admin_key(&app, "ops", &[]).await;
    let public = app
        .admin(&key, reqwest::Method::GET, "/admin/v1/users", None)
        .await;
    assert_problem(&public, 404, "not_found");
    let at = app.admin_address.expect("admin listener");
    let r = app
        .send(
            app.client
                .get(format!("http://{at}/admin/v1/users"))
                .bearer(&key),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .send(app.client.get(format!("http://{at}/v1/me")).bearer(&key))
        .await;
    assert_problem(&r, 404, "not_found");
    // The document still describes the admin API, with its scheme.
    let doc = app.send(app.get("/openapi.json")).await.json();
    assert!(doc["paths"]["/admin/v1/users"]["get"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["admin_key"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn admin_routes_are_limited_per_address() {
    let app = TestApp::spawn_with(|c| {
        c.http.address_limits.admin = latchkey_http::RouteLimit {
            per_address: 3,
            window: MINUTE,
        };
    })
    .await;
    for _ in 0..3 {
        let r = app
            .admin(
                "lk_admin_guess",
                reqwest::Method::GET,
                "/admin/v1/users",
                None,
            )
            .await;
        assert_problem(&r, 401, "invalid_admin_key");
    }
    let r = app
        .admin(
            "lk_admin_guess",
            reqwest::Method::GET,
            "/admin/v1/users",
            None,
        )
        .await;
    assert_problem(&r, 429, "rate_limited");
}

#[tokio::test]
async fn an_address_for_a_new_user_needs_email_configured() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app, "ops", &[]).await;
    let body = json!({"username": "erin", "email": "erin@example.com"});
    let r = app
        .admin(&key, reqwest::Method::POST, "/admin/v1/users", Some(body))
        .await;
    assert_problem(&r, 501, "email_not_configured");
    let r = app
        .admin(&key, reqwest::Method::GET, "/admin/v1/users?q=erin", None)
        .await;
    assert!(
        r.json()["users"].as_array().unwrap().is_empty(),
        "nothing stored"
    );
}
