//! The audit trail (API.md, "Operators: admin API and audit trail"):
//! security events recorded with the request's address, user agent and
//! id, read through `GET /admin/v1/events` by user, type and cursor, shown
//! to their user on the account page, never holding a secret, and swept
//! after `audit.retention`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin::admin_key;
use crate::helpers::*;
use crate::mfa_helpers::mfa_token_of;

const CLIENT: &str = "203.0.113.9";

async fn events(app: &TestApp, key: &str, query: &str) -> Vec<Value> {
    let r = app
        .send(app.get(&format!("/admin/v1/events{query}")).bearer(key))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["events"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn behind_proxy() -> TestApp {
    TestApp::spawn_with(|c| c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await
}

#[tokio::test]
async fn sign_ins_are_recorded_with_the_clients_address_user_agent_and_request_id() {
    let app = behind_proxy().await;
    let key = admin_key(&app, "auditor", &["events:read"]).await;
    let alice = app.user("alice").await;
    let wrong = app
        .send(
            app.post("/v1/token/login")
                .header("x-forwarded-for", CLIENT)
                .json(&json!({"username": "alice", "password": "not her password"})),
        )
        .await;
    assert_problem(&wrong, 401, "invalid_credentials");
    let right = app
        .send(
            app.post("/v1/token/login")
                .header("x-forwarded-for", CLIENT)
                .json(&json!({"username": "alice", "password": PASSWORD})),
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    let request_id = right.header("x-request-id").unwrap().to_owned();

    let mine = events(&app, &key, &format!("?user={}", alice.user_id)).await;
    let last_two = &mine[mine.len() - 2..];
    assert_eq!(types(last_two), ["login.failed", "login.succeeded"]);
    let ok = &last_two[1];
    assert_eq!(ok["ip"], CLIENT);
    assert_eq!(ok["user_agent"], USER_AGENT);
    assert_eq!(ok["request_id"], request_id.as_str());
    assert_eq!(ok["detail"], json!({"flavour": "tokens", "amr": ["pwd"]}));
    assert_eq!(last_two[0]["detail"]["method"], "password");
    // A wrong password for nobody is recorded too, without a user.
    app.login_attempt("mallory", "whatever it is").await;
    let failed = events(&app, &key, "?type=login.failed").await;
    assert!(failed.iter().any(|e| e["user_id"].is_null()), "{failed:?}");
    // Nothing secret in any event.
    let all = serde_json::to_string(&events(&app, &key, "").await).unwrap();
    assert!(!all.contains(PASSWORD) && !all.contains("not her password"));
    let pair = pair_from(&right);
    assert!(!all.contains(&pair.access) && !all.contains(&pair.refresh));
}

#[tokio::test]
async fn every_kind_of_security_event_is_recorded_where_it_happens() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app, "ops", &[]).await;
    let (enrolled, totp) = app.mfa_user("alice").await;
    let id = enrolled.user_id.clone();
    // A wrong code at the second step, then the right one.
    let token = mfa_token_of(&app.token_login_attempt("alice", PASSWORD).await);
    app.verify(&token, "000000").await;
    let code = app.fresh_code(&totp);
    let pair = pair_from(&app.verify(&token, &code).await);
    // A refresh token used twice.
    let next = app.refresh(&pair.refresh).await;
    app.advance(Duration::from_secs(60));
    app.refresh_attempt(&pair.refresh).await;
    // An access token revoked.
    app.revoke_token(&next.access).await;
    // An operator disables the account.
    let r = app
        .send(
            app.request(reqwest::Method::PATCH, &format!("/admin/v1/users/{id}"))
                .bearer(&key)
                .json(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let seen = events(&app, &key, &format!("?user={id}")).await;
    let kinds = types(&seen);
    for expected in [
        "mfa.enrolled",
        "mfa.failed",
        "login.succeeded",
        "refresh.reuse_detected",
        "tokens.revoked",
        "user.disabled",
        "admin.user_updated",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
    let by_admin = seen
        .iter()
        .find(|e| e["type"] == "admin.user_updated")
        .unwrap();
    assert_eq!(by_admin["detail"]["disabled"], true);
    assert!(
        by_admin["detail"]["admin_key"]
            .as_str()
            .unwrap()
            .starts_with("ak_")
    );
    let mfa_login = seen
        .iter()
        .rev()
        .find(|e| e["type"] == "login.succeeded")
        .unwrap();
    assert_eq!(mfa_login["detail"]["amr"], json!(["pwd", "otp", "mfa"]));
}

#[tokio::test]
async fn events_are_read_page_by_page_by_type_and_need_their_scope() {
    let app = TestApp::spawn().await;
    let key = admin_key(&app, "auditor", &["events:read"]).await;
    let other = admin_key(&app, "users-only", &["users:read"]).await;
    app.user("alice").await;
    for _ in 0..3 {
        app.login_attempt("alice", "a wrong password").await;
    }
    let first = app
        .send(
            app.get("/admin/v1/events?type=login.failed&limit=2")
                .bearer(&key),
        )
        .await;
    let page = first.json();
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_i64().unwrap();
    let rest = events(&app, &key, &format!("?type=login.failed&after={cursor}")).await;
    assert_eq!(rest.len(), 1);
    assert!(rest[0]["id"].as_i64().unwrap() > cursor);
    let r = app.send(app.get("/admin/v1/events").bearer(&other)).await;
    assert_problem(&r, 403, "insufficient_scope");
    let r = app
        .send(app.get("/admin/v1/events?user=nobody").bearer(&key))
        .await;
    assert_problem(&r, 400, "invalid_request");
}

#[tokio::test]
async fn the_account_page_shows_the_users_own_recent_security_activity() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    app.create_user("bob", PASSWORD).await;
    app.login_attempt("alice", "a wrong password").await;
    app.login_attempt("bob", "a wrong password").await;
    let alice = app.login("alice", PASSWORD, false).await;
    let page = app.send(app.get("/account").cookie_of(&alice)).await;
    assert_eq!(page.status, StatusCode::OK);
    let card = &page.body[page.body.find("id=\"activity\"").expect("activity card")..];
    assert!(card.contains("Signed in"), "{card}");
    assert_eq!(
        card.matches("A sign-in with a wrong password").count(),
        1,
        "only her own: {card}"
    );
}

#[tokio::test]
async fn events_older_than_the_retention_are_swept() {
    let app =
        TestApp::spawn_with(|c| c.http.audit_retention = Duration::from_secs(7 * 86_400)).await;
    let key = admin_key(&app, "auditor", &["events:read"]).await;
    app.login_attempt("nobody", "a wrong password").await;
    assert_eq!(events(&app, &key, "").await.len(), 1);
    app.advance(Duration::from_secs(8 * 86_400));
    // The sweeper runs at start, then every minute.
    let app = app.restart().await;
    let mut left = usize::MAX;
    for _ in 0..100 {
        left = events(&app, &key, "").await.len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "the old event is swept");
}
