//! Bearer and hybrid logins are listed beside cookie sessions, with their
//! kind, device and last use (their last refresh), in `GET /v1/sessions`
//! and on the account page, and any of them can be ended from there.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

async fn listed(app: &TestApp, login: &Login) -> Vec<Value> {
    let r = app.send(app.get("/v1/sessions").cookie_of(login)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["sessions"].as_array().unwrap().clone()
}

fn of_kind<'a>(list: &'a [Value], kind: &str) -> &'a Value {
    list.iter()
        .find(|s| s["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {list:?}"))
}

#[tokio::test]
async fn bearer_and_hybrid_logins_are_listed_beside_sessions_and_ended_by_id() {
    let app = TestApp::spawn().await;
    let browser = app.user("alice").await;
    let r = app
        .send(
            app.token_login_request("alice", PASSWORD)
                .header("user-agent", "Orders app/3.1"),
        )
        .await;
    let pair = pair_from(&r);
    app.advance(Duration::from_secs(60));
    app.hybrid_login("alice", PASSWORD).await;
    let other = app.user("bob").await;
    let bobs = app.token_login("bob", PASSWORD).await;

    let list = listed(&app, &browser).await;
    assert_eq!(list.len(), 3, "{list:?}");
    let bearer = of_kind(&list, "tokens");
    assert_eq!(bearer["user_agent"], "Orders app/3.1");
    assert_eq!(bearer["ip"], "127.0.0.1");
    assert_eq!(bearer["amr"], serde_json::json!(["pwd"]));
    assert_eq!(bearer["current"], false);
    assert_eq!(bearer["last_seen_at"], START_RFC3339);
    of_kind(&list, "cookie_jwt");
    assert_eq!(of_kind(&list, "session")["current"], true);
    assert!(
        !serde_json::to_string(&list)
            .unwrap()
            .contains(&pair.refresh)
    );

    // A refresh is a use.
    app.advance(Duration::from_secs(60));
    let next = app.refresh(&pair.refresh).await;
    let list = listed(&app, &browser).await;
    let position = |kind: &str| list.iter().position(|s| s["kind"] == kind).unwrap();
    assert!(
        position("tokens") < position("cookie_jwt"),
        "most recently used first: {list:?}"
    );
    let bearer = of_kind(&list, "tokens");
    assert_eq!(bearer["last_seen_at"], at(Duration::from_secs(120)));

    // Ending it ends the login's tokens, on this node at once.
    let id = bearer["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            app.delete(&format!("/v1/sessions/{id}"))
                .cookie_of(&browser)
                .csrf_of(&browser),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.assert_bearer_refused(&next.access).await;
    assert_invalid_grant(&app.refresh_attempt(&next.refresh).await);
    assert_eq!(listed(&app, &browser).await.len(), 2);

    // Someone else's login is not found, and stays.
    let bobs_id = listed(&app, &other)
        .await
        .iter()
        .find(|s| s["kind"] == "tokens")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            app.delete(&format!("/v1/sessions/{bobs_id}"))
                .cookie_of(&browser)
                .csrf_of(&browser),
        )
        .await;
    assert_problem(&r, 404, "not_found");
    app.assert_bearer_works(&bobs.access).await;
}

#[tokio::test]
async fn the_account_page_lists_app_logins_and_ends_them() {
    let app = TestApp::spawn().await;
    let browser = app.user("alice").await;
    let pair = app.token_login("alice", PASSWORD).await;
    let page = app.send(app.get("/account").cookie_of(&browser)).await;
    assert!(page.body.contains("App (bearer tokens)"), "{}", page.body);
    let id = listed(&app, &browser)
        .await
        .iter()
        .find(|s| s["kind"] == "tokens")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let csrf = crate::mfa_pages::hidden(&page.body, "csrf_token");
    let r = app
        .send(
            app.post(&format!("/account/sessions/{id}/end"))
                .cookie_of(&browser)
                .form(&[("csrf_token", csrf.as_str())]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.assert_bearer_refused(&pair.access).await;
    assert_eq!(app.session_status(&browser).await, StatusCode::OK);
}
