//! Regressions from the security review (issue 9) about refresh tokens and
//! credential cookies: the grace window cannot walk a family's chain, and
//! a credential cookie sent twice, or a hybrid refresh cookie of another
//! login than its access cookie, is refused.

use reqwest::StatusCode;
use reqwest::header::COOKIE;

use crate::helpers::{
    HybridLogin, PASSWORD, Reply, RequestExt as _, SetCookie, TestApp, assert_invalid_grant,
    assert_problem,
};

/// The cookies of a hybrid login as the browser holds them.
#[derive(Clone, Debug)]
struct Jar {
    access: String,
    refresh: String,
    csrf: String,
}

impl From<&HybridLogin> for Jar {
    fn from(h: &HybridLogin) -> Self {
        Self {
            access: h.access_cookie.clone(),
            refresh: h.refresh_cookie.clone(),
            csrf: h.csrf.clone(),
        }
    }
}

/// `POST /v1/cookie/refresh` with exactly the `Cookie` header given.
async fn cookie_refresh(app: &TestApp, cookies: &str, csrf: &str) -> Reply {
    app.send(
        app.post("/v1/cookie/refresh")
            .header(COOKIE, cookies)
            .header("x-csrf-token", csrf),
    )
    .await
}

/// Refreshes `jar` and returns the cookies the response set.
async fn rotate(app: &TestApp, jar: &Jar) -> Jar {
    let r = cookie_refresh(app, &format!("{}; {}", jar.access, jar.refresh), &jar.csrf).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let set: Vec<SetCookie> = r
        .set_cookies()
        .iter()
        .map(|c| SetCookie::parse(c))
        .collect();
    let find = |suffix: &str| {
        let c = set.iter().find(|c| c.name.ends_with(suffix)).expect(suffix);
        format!("{}={}", c.name, c.value)
    };
    Jar {
        access: find("lk_at"),
        refresh: find("lk_rt"),
        csrf: r.json()["csrf_token"].as_str().expect("csrf").to_owned(),
    }
}

#[tokio::test]
async fn i9_04_refresh_grace_cannot_walk_the_chain() {
    let app = TestApp::spawn().await;
    let first = app.token_user("alice").await;
    let second = app.refresh(&first.refresh).await;
    let third = app.refresh(&second.refresh).await;
    // Within the grace window, but `second` is spent: `first` is stolen.
    assert_invalid_grant(&app.refresh_attempt(&first.refresh).await);
    // Reuse was detected: the family is dead, the live token included.
    assert_invalid_grant(&app.refresh_attempt(&second.refresh).await);
    assert_invalid_grant(&app.refresh_attempt(&third.refresh).await);
    app.assert_bearer_refused(&third.access).await;
    // A spent token whose successor is unspent still gets grace.
    let one = app.token_login("alice", PASSWORD).await;
    let two = app.refresh(&one.refresh).await;
    assert_eq!(app.refresh(&one.refresh).await, two);
}

#[tokio::test]
async fn i9_04_hybrid_cookie_refresh_grace_cannot_walk_the_chain() {
    let app = TestApp::spawn().await;
    app.create_user("alice", PASSWORD).await;
    let jar0 = Jar::from(&app.hybrid_login("alice", PASSWORD).await);
    let jar1 = rotate(&app, &jar0).await;
    let jar2 = rotate(&app, &jar1).await;
    // A thief holding the first refresh cookie, moments later.
    let r = cookie_refresh(&app, &jar0.refresh, &jar0.csrf).await;
    assert_invalid_grant(&r);
    // The victim's live cookies are dead too.
    let r = cookie_refresh(
        &app,
        &format!("{}; {}", jar2.access, jar2.refresh),
        &jar2.csrf,
    )
    .await;
    assert_invalid_grant(&r);
    let token = jar2.access.split_once('=').expect("name=value").1;
    app.assert_bearer_refused(token).await;
}

#[tokio::test]
async fn i9_12_a_credential_cookie_sent_twice_is_refused() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let other = app.login("alice", PASSWORD, false).await;
    let name = alice.cookie_name;
    // Twice in one header, and once in each of two headers.
    for cookies in [
        vec![format!("{name}={}; {name}={}", other.cookie, alice.cookie)],
        vec![
            format!("{name}={}", alice.cookie),
            format!("{name}={}", alice.cookie),
        ],
    ] {
        let mut rb = app.get("/v1/me");
        for c in &cookies {
            rb = rb.header(COOKIE, c);
        }
        assert_problem(&app.send(rb).await, 400, "duplicate_cookie");
    }
    // The hybrid's cookies too: the access cookie anywhere, the refresh
    // cookie on its own path (a sibling's planted one first).
    let attacker = Jar::from(&app.hybrid_login("alice", PASSWORD).await);
    let victim = Jar::from(&app.hybrid_login("alice", PASSWORD).await);
    let r = app
        .send(
            app.get("/v1/me")
                .header(COOKIE, format!("{}; {}", victim.access, attacker.access)),
        )
        .await;
    assert_problem(&r, 400, "duplicate_cookie");
    let both = format!(
        "{}; {}; {}",
        victim.access, attacker.refresh, victim.refresh
    );
    assert_problem(
        &cookie_refresh(&app, &both, &victim.csrf).await,
        400,
        "duplicate_cookie",
    );
    let r = app
        .send(app.get("/v1/cookie/csrf").header(COOKIE, both))
        .await;
    assert_problem(&r, 400, "duplicate_cookie");
    // One of each still works.
    rotate(&app, &victim).await;
    let r = app.send(app.get("/v1/me").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn i9_12_the_hybrid_refresh_cookie_must_belong_to_the_access_cookies_login() {
    let app = TestApp::spawn().await;
    app.create_user("victim", PASSWORD).await;
    app.create_user("mallory", PASSWORD).await;
    let victim = Jar::from(&app.hybrid_login("victim", PASSWORD).await);
    let planted = Jar::from(&app.hybrid_login("mallory", PASSWORD).await);
    let mixed = format!("{}; {}", victim.access, planted.refresh);
    // The SPA asks for its CSRF token, then refreshes: both refused, so
    // the victim's browser never switches to mallory's login.
    assert_invalid_grant(
        &app.send(app.get("/v1/cookie/csrf").header(COOKIE, &mixed))
            .await,
    );
    assert_invalid_grant(&cookie_refresh(&app, &mixed, &planted.csrf).await);
    // Nothing was rotated: both logins still refresh with their own pair.
    rotate(&app, &victim).await;
    rotate(&app, &planted).await;
    // Without an access cookie (it expired and the browser dropped it)
    // the refresh cookie alone still refreshes.
    let fresh = Jar::from(&app.hybrid_login("victim", PASSWORD).await);
    let r = cookie_refresh(&app, &fresh.refresh, &fresh.csrf).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
