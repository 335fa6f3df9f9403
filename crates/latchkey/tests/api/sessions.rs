//! Cookie sessions: login, the session cookie, `/v1/session*` and
//! `/v1/sessions*`.

use std::time::Duration;

use latchkey_http::SameSite;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    Login, PASSWORD, RequestExt as _, START_RFC3339, SetCookie, TestApp, assert_problem, at,
};

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[tokio::test]
async fn login_without_remember_sets_a_host_only_http_only_strict_browser_session_cookie() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    for remember in [None, Some(false)] {
        let r = app
            .send(app.login_request("alice", PASSWORD, remember))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let c = r.the_set_cookie();
        assert_eq!(c.name, "__Host-lk_session");
        assert_eq!(c.value.len(), 43, "256 bits, unpadded base64url");
        assert!(is_base64url(&c.value), "{}", c.value);
        assert_eq!(c.attr_names(), ["httponly", "path", "samesite", "secure"]);
        assert_eq!(c.attr("path"), Some(Some("/")));
        assert_eq!(c.attr("samesite"), Some(Some("Strict")));
        assert_eq!(
            r.set_cookies()[0],
            format!(
                "__Host-lk_session={}; HttpOnly; SameSite=Strict; Secure; Path=/",
                c.value
            )
        );
    }
}

#[tokio::test]
async fn login_with_remember_sets_max_age_to_the_absolute_timeout() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let login = app.login("alice", PASSWORD, true).await;
    let c = SetCookie::parse(&login.set_cookie);
    assert_eq!(c.attr("max-age"), Some(Some("604800")), "7 days");
    assert_eq!(
        c.attr_names(),
        ["httponly", "max-age", "path", "samesite", "secure"]
    );

    let app = TestApp::spawn_with(|cfg| {
        cfg.http.sessions.absolute_timeout = Duration::from_secs(12 * 3600);
    })
    .await;
    app.create_user("alice", PASSWORD).await;
    let login = app.login("alice", PASSWORD, true).await;
    let c = SetCookie::parse(&login.set_cookie);
    assert_eq!(c.attr("max-age"), Some(Some("43200")), "follows the config");
}

#[tokio::test]
async fn login_returns_the_user_and_a_csrf_token_and_is_never_cached() {
    let app = TestApp::spawn().await;
    let id = app.create_user("Alice", PASSWORD).await;
    let r = app.login_attempt("alice", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    let body = r.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "{body}");
    assert_eq!(
        body["user"],
        serde_json::json!({"id": id, "username": "alice"})
    );
    let csrf = body["csrf_token"].as_str().unwrap();
    assert!(csrf.len() >= 32, "a real token: {csrf}");
    let login = app.login_from(&r);
    assert_ne!(login.csrf, login.cookie, "the token is not the cookie");
}

#[tokio::test]
async fn every_login_issues_a_new_cookie_value() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let first = app.login("alice", PASSWORD, false).await;
    let second = app.login("alice", PASSWORD, false).await;
    assert_ne!(first.cookie, second.cookie);
    assert_ne!(first.csrf, second.csrf);
    // Two browsers, two live sessions.
    assert_eq!(app.session_status(&first).await, StatusCode::OK);
    assert_eq!(app.session_status(&second).await, StatusCode::OK);
}

#[tokio::test]
async fn logging_in_while_presenting_an_old_cookie_ends_the_old_session() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let old = app.login("alice", PASSWORD, false).await;
    let r = app
        .send(app.login_request("alice", PASSWORD, None).cookie_of(&old))
        .await;
    let new = app.login_from(&r);
    assert_ne!(new.cookie, old.cookie, "never reuses the presented session");
    assert_eq!(app.session_status(&old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.session_status(&new).await, StatusCode::OK);
}

#[tokio::test]
async fn a_failed_login_while_presenting_a_cookie_leaves_that_session_alone() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let r = app
        .send(
            app.login_request("alice", "wrong-password!", None)
                .cookie_of(&alice),
        )
        .await;
    assert_problem(&r, 401, "invalid_credentials");
    assert!(r.set_cookies().is_empty());
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_byte_identical_answers() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let wrong = app.login_attempt("alice", "not-alices-password").await;
    let unknown = app.login_attempt("nobody", "not-alices-password").await;
    let malformed = app.login_attempt("no body!", "not-alices-password").await;
    assert_problem(&wrong, 401, "invalid_credentials");
    for other in [&unknown, &malformed] {
        assert_eq!(other.status, wrong.status);
        assert_eq!(other.body, wrong.body, "byte-identical bodies");
        let names = |r: &crate::helpers::Reply| {
            let mut v: Vec<(String, String)> = r
                .headers
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "date" | "x-request-id"))
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(other), names(&wrong), "same headers");
    }
    assert!(wrong.set_cookies().is_empty());
}

#[tokio::test]
async fn the_current_session_shows_its_user_and_rfc3339_times() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let r = app.send(app.get("/v1/session").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    assert_eq!(
        body["user"],
        serde_json::json!({"id": alice.user_id, "username": "alice"})
    );
    let s = body["session"].as_object().unwrap();
    let mut keys: Vec<&str> = s.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created_at", "expires_at", "id", "last_seen_at"]);
    assert_eq!(s["created_at"], START_RFC3339);
    assert_eq!(s["last_seen_at"], START_RFC3339);
    assert_eq!(s["expires_at"], at(Duration::from_secs(30 * 60)), "idle");
    let id = s["id"].as_str().unwrap();
    assert!(!id.is_empty() && is_base64url(id));
    assert!(!alice.cookie.contains(id) && !id.contains(&alice.cookie));
}

#[tokio::test]
async fn no_cookie_is_401_on_every_session_route() {
    let app = TestApp::spawn().await;
    for rb in [
        app.get("/v1/session"),
        app.get("/v1/sessions"),
        app.post("/v1/session/logout"),
        app.delete("/v1/sessions"),
        app.delete("/v1/sessions/AAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let r = app.send(rb).await;
        assert_problem(&r, 401, "unauthenticated");
        assert!(r.set_cookies().is_empty(), "nothing to clear");
    }
}

#[tokio::test]
async fn logout_deletes_the_session_server_side_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let other = app.login("alice", PASSWORD, false).await;
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(r.body.is_empty());
    let c = r.the_set_cookie();
    assert_eq!(c.name, "__Host-lk_session");
    assert_eq!(c.value, "");
    assert!(c.is_clearing(), "Max-Age=0: {c:?}");
    assert_eq!(c.attr("path"), Some(Some("/")));
    assert_eq!(c.attr("secure"), Some(None));
    // A client that keeps the old value is refused: deleted, not forgotten.
    let again = app.send(app.get("/v1/session").cookie_of(&alice)).await;
    assert_problem(&again, 401, "unauthenticated");
    let again = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_problem(&again, 401, "unauthenticated");
    // The user's other session lives on, and no longer lists the ended one.
    let list = app.send(app.get("/v1/sessions").cookie_of(&other)).await;
    assert_eq!(list.json()["sessions"].as_array().unwrap().len(), 1);
}

async fn sessions_of(app: &TestApp, login: &Login) -> Vec<Value> {
    let r = app.send(app.get("/v1/sessions").cookie_of(login)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()["sessions"].as_array().unwrap().clone()
}

async fn handle_of(app: &TestApp, login: &Login) -> String {
    let r = app.send(app.get("/v1/session").cookie_of(login)).await;
    r.json()["session"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn listing_sessions_shows_each_with_exactly_one_current_and_no_secrets() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let a = app
        .send(
            app.login_request("alice", PASSWORD, None)
                .header("user-agent", "Browser A/1.0"),
        )
        .await;
    let a = app.login_from(&a);
    app.advance(Duration::from_secs(5));
    let b = app
        .send(
            app.login_request("alice", PASSWORD, Some(true))
                .header("user-agent", "Browser B/2.0"),
        )
        .await;
    let b = app.login_from(&b);
    let bob = app.user("bob").await;

    let list = sessions_of(&app, &a).await;
    assert_eq!(list.len(), 2, "alice's two sessions only: {list:?}");
    for s in &list {
        let mut keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "amr",
                "created_at",
                "current",
                "id",
                "ip",
                "kind",
                "last_seen_at",
                "user_agent"
            ]
        );
        let id = s["id"].as_str().unwrap();
        for secret in [&a.cookie, &b.cookie, &bob.cookie, &a.csrf, &b.csrf] {
            assert!(!secret.contains(id) && !id.contains(secret.as_str()));
        }
        assert_eq!(s["ip"], "127.0.0.1");
    }
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "Browser A/1.0");
    assert_eq!(current[0]["id"], handle_of(&app, &a).await);
    assert_eq!(current[0]["created_at"], START_RFC3339);
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["user_agent"], "Browser B/2.0");
    assert_eq!(other["created_at"], at(Duration::from_secs(5)));
    assert_eq!(other["last_seen_at"], at(Duration::from_secs(5)));

    // Seen from the other session, the other one is current.
    let list = sessions_of(&app, &b).await;
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "Browser B/2.0");
    app.assert_no_secret_leaked();
}

#[tokio::test]
async fn ending_one_session_by_id_ends_only_that_session() {
    let app = TestApp::spawn().await;
    let a = app.user("alice").await;
    let b = app.login("alice", PASSWORD, false).await;
    let c = app.login("alice", PASSWORD, false).await;
    let b_id = handle_of(&app, &b).await;
    let r = app
        .send(app.delete(&format!("/v1/sessions/{b_id}")).authed(&a))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(
        r.set_cookies().is_empty(),
        "the caller's cookie is not touched"
    );
    assert_eq!(app.session_status(&b).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.session_status(&a).await, StatusCode::OK);
    assert_eq!(app.session_status(&c).await, StatusCode::OK);
    // Ending it again: it is gone.
    let r = app
        .send(app.delete(&format!("/v1/sessions/{b_id}")).authed(&a))
        .await;
    assert_problem(&r, 404, "not_found");
}

#[tokio::test]
async fn ending_your_own_session_by_id_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let a = app.user("alice").await;
    let id = handle_of(&app, &a).await;
    let r = app
        .send(app.delete(&format!("/v1/sessions/{id}")).authed(&a))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.the_set_cookie().is_clearing());
    assert_eq!(app.session_status(&a).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_users_session_id_is_404_and_that_session_lives_on() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let bob_id = handle_of(&app, &bob).await;
    let r = app
        .send(app.delete(&format!("/v1/sessions/{bob_id}")).authed(&alice))
        .await;
    assert_problem(&r, 404, "not_found");
    assert_eq!(app.session_status(&bob).await, StatusCode::OK);
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
}

#[tokio::test]
async fn a_garbage_session_id_is_404() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let long = "A".repeat(300);
    for id in [
        "nope",
        "AAAAAAAAAAAAAAAAAAAAAA",
        "%00",
        "..",
        "a+b/c=",
        long.as_str(),
        &alice.cookie,
    ] {
        let r = app
            .send(app.delete(&format!("/v1/sessions/{id}")).authed(&alice))
            .await;
        assert_problem(&r, 404, "not_found");
    }
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
}

#[tokio::test]
async fn ending_all_sessions_logs_out_everywhere_including_the_caller() {
    let app = TestApp::spawn().await;
    let a = app.user("alice").await;
    let b = app.login("alice", PASSWORD, true).await;
    let c = app.login("alice", PASSWORD, false).await;
    let bob = app.user("bob").await;
    let r = app.send(app.delete("/v1/sessions").authed(&b)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let cleared = r.the_set_cookie();
    assert_eq!(cleared.name, "__Host-lk_session");
    assert!(cleared.is_clearing());
    for s in [&a, &b, &c] {
        assert_eq!(app.session_status(s).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.session_status(&bob).await, StatusCode::OK);
    // Logging in again works.
    let fresh = app.login("alice", PASSWORD, false).await;
    assert_eq!(sessions_of(&app, &fresh).await.len(), 1);
}

#[tokio::test]
async fn with_secure_cookies_off_the_cookie_is_lk_session_without_secure_or_prefix() {
    let app = TestApp::spawn_with(|cfg| cfg.http.cookie_secure = false).await;
    app.create_user("alice", PASSWORD).await;
    let r = app.login_attempt("alice", PASSWORD).await;
    let c = r.the_set_cookie();
    assert_eq!(c.name, "lk_session");
    assert_eq!(c.attr("secure"), None);
    assert_eq!(c.attr_names(), ["httponly", "path", "samesite"]);
    let login = app.login_from(&r);
    assert_eq!(app.session_status(&login).await, StatusCode::OK);
    // The prefixed name is not read under this configuration.
    let prefixed = app
        .send(
            app.get("/v1/session")
                .raw_cookie("__Host-lk_session", &login.cookie),
        )
        .await;
    assert_problem(&prefixed, 401, "unauthenticated");
    let out = app
        .send(app.post("/v1/session/logout").authed(&login))
        .await;
    let c = out.the_set_cookie();
    assert_eq!(c.name, "lk_session");
    assert!(c.is_clearing());
    assert_eq!(c.attr("secure"), None);
}

#[tokio::test]
async fn same_site_lax_in_config_gives_samesite_lax() {
    let app = TestApp::spawn_with(|cfg| cfg.http.same_site = SameSite::Lax).await;
    app.create_user("alice", PASSWORD).await;
    let login = app.login("alice", PASSWORD, false).await;
    let c = SetCookie::parse(&login.set_cookie);
    assert_eq!(c.attr("samesite"), Some(Some("Lax")));
    assert_eq!(c.attr("secure"), Some(None));
}

#[tokio::test]
async fn malformed_cookie_values_are_401_never_500() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mut one_more = alice.cookie.clone();
    one_more.push('A');
    let mut one_less = alice.cookie.clone();
    one_less.pop();
    // The standard base64 alphabet instead of the URL-safe one.
    let standard_alphabet = format!("+{}/", &alice.cookie[1..42]);
    let cases = [
        String::new(),
        "short".to_owned(),
        "!".repeat(43),
        "A".repeat(44),
        one_more,
        one_less,
        format!("{}=", alice.cookie),
        format!("{}+/", &alice.cookie[..41]),
        standard_alphabet,
        "\"quoted\"".to_owned(),
        "A".repeat(4000),
        // Well-formed but unknown.
        "B".repeat(43),
    ];
    for value in &cases {
        for rb in [
            app.get("/v1/session"),
            app.get("/v1/me"),
            app.post("/v1/session/logout")
                .header("x-csrf-token", &alice.csrf),
        ] {
            let r = app.send(rb.raw_cookie("__Host-lk_session", value)).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "cookie {value:?}");
            assert_problem(&r, 401, "unauthenticated");
        }
    }
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
}

#[tokio::test]
async fn a_refused_cookie_is_cleared_in_the_answer() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            app.get("/v1/session")
                .raw_cookie("__Host-lk_session", &"B".repeat(43)),
        )
        .await;
    assert_problem(&r, 401, "unauthenticated");
    let c = r.the_set_cookie();
    assert_eq!(c.name, "__Host-lk_session");
    assert!(c.is_clearing());
}

#[tokio::test]
async fn sessions_and_csrf_tokens_survive_a_restart() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let app = app.restart().await;
    assert_eq!(app.session_status(&alice).await, StatusCode::OK);
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
}

#[tokio::test]
async fn a_session_ended_on_one_server_is_refused_by_another_on_the_same_store() {
    let one = TestApp::spawn().await;
    let two = one.spawn_beside().await;
    let alice = one.user("alice").await;
    assert_eq!(two.session_status(&alice).await, StatusCode::OK);
    let r = two
        .send(two.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(one.session_status(&alice).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_long_user_agent_is_cut_to_256_characters_and_control_characters_dropped() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    for (sent, shown) in [
        ("u".repeat(300), "u".repeat(256)),
        ("Tab\tbed/1.0".to_owned(), "Tabbed/1.0".to_owned()),
    ] {
        let r = app
            .send(
                app.login_request("alice", PASSWORD, None)
                    .header("user-agent", &sent),
            )
            .await;
        let login = app.login_from(&r);
        let list = sessions_of(&app, &login).await;
        let current = list.iter().find(|s| s["current"] == true).unwrap();
        assert_eq!(current["user_agent"], shown.as_str());
    }
}
