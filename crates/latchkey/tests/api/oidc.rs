//! Sign in with an OpenID Connect provider, against a real certified
//! provider (see `oidc_peer`). Each test says which attack it pins.

use reqwest::header;

use crate::helpers::{TestApp, assert_problem};
use crate::oidc_peer::{Browser, Peer, callback, cookie_value, enabled, real_now, wait_available};

pub async fn app_with(peer: &Peer) -> TestApp {
    let issuer = peer.issuer.clone();
    let app = TestApp::spawn_with(move |c| {
        c.http.oidc_providers = vec![crate::oidc_peer::provider_config(&issuer)];
    })
    .await;
    app.clock.set(real_now());
    wait_available(&app).await;
    app
}

pub async fn me(app: &TestApp, session: &str) -> (u16, serde_json::Value) {
    let rb = app
        .get("/v1/session")
        .header(header::COOKIE, format!("{}={session}", app.cookie_name));
    let r = app.send(rb).await;
    let body = serde_json::from_str(&r.body).unwrap_or_default();
    (r.status.as_u16(), body)
}

/// Signs in `sub` in a fresh browser; the session cookie.
pub async fn signed_in(app: &TestApp, peer: &Peer, sub: &str) -> String {
    peer.next_login(sub, sub).await;
    let mut browser = Browser::default();
    let cb = browser.sign_in(app, "", None).await;
    let r = callback(app, &cb, cb.binding.as_deref()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    cookie_value(&r, app.cookie_name).expect("a session cookie")
}

#[tokio::test]
async fn oidc_a_new_identity_becomes_a_user_signed_in_with_fed() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    peer.next_login("sub-ada", "Ada").await;
    let mut browser = Browser::default();
    let cb = browser
        .sign_in(&app, "?return_to=/account%3Ftab%3D1", None)
        .await;
    let r = callback(&app, &cb, cb.binding.as_deref()).await;
    // A page that continues with a same-origin navigation, not a 303: the
    // SameSite=Strict cookie set here would not be sent on a redirect
    // chain the provider's site started.
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("http-equiv=\"refresh\" content=\"0;url=/account?tab=1\""),
        "{}",
        r.body
    );
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !r.body.contains("<script"),
        "no script on the continue page"
    );
    // The binding cookie is cleared.
    assert!(
        r.set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-lk_oidc=;"))
    );
    let session = cookie_value(&r, app.cookie_name).expect("a session cookie");
    let (status, body) = me(&app, &session).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["username"], "ada");
    let amr = body["amr"].as_array().cloned().unwrap_or_default();
    assert!(amr.iter().any(|v| v == "fed"), "amr: {amr:?}");
    // The new user has no password: a password login cannot succeed.
    let r = app.login_attempt("ada", "").await;
    assert!(r.status.is_client_error());
}

#[tokio::test]
async fn oidc_a_returning_identity_signs_in_as_the_same_user() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    let first = signed_in(&app, &peer, "sub-bo").await;
    let second = signed_in(&app, &peer, "sub-bo").await;
    assert_ne!(first, second, "a new session each time");
    let (_, a) = me(&app, &first).await;
    let (_, b) = me(&app, &second).await;
    assert_eq!(a["user"]["id"], b["user"]["id"]);
    // A name taken by another identity is made unique, never shared.
    let other = signed_in(&app, &peer, "sub-bo-2").await;
    let other_name = me(&app, &other).await.1["user"]["username"].clone();
    peer.next_login("sub-bo-3", "sub-bo").await;
    let mut browser = Browser::default();
    let cb = browser.sign_in(&app, "", None).await;
    let r = callback(&app, &cb, cb.binding.as_deref()).await;
    let third = cookie_value(&r, app.cookie_name).expect("session");
    let (_, c) = me(&app, &third).await;
    assert_ne!(c["user"]["id"], a["user"]["id"]);
    assert_ne!(c["user"]["username"], a["user"]["username"]);
    assert_ne!(other_name, a["user"]["username"]);
}

#[tokio::test]
async fn oidc_a_signed_in_user_links_the_identity_and_can_unlink_it() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    let login = app.user("carol").await;
    peer.next_login("sub-carol-at-idp", "someone-else").await;
    let mut browser = Browser::default();
    let cb = browser.sign_in(&app, "", Some(&login.cookie)).await;
    let r = callback(&app, &cb, cb.binding.as_deref()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = app
        .send(app.get("/v1/identities").header(
            header::COOKIE,
            format!("{}={}", app.cookie_name, login.cookie),
        ))
        .await;
    assert_eq!(list.status, 200);
    let ids = list.json()["identities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0]["provider"], "test");
    assert_eq!(ids[0]["subject"], "sub-carol-at-idp");
    // Signing in with that identity now is carol.
    let session = signed_in(&app, &peer, "sub-carol-at-idp").await;
    assert_eq!(me(&app, &session).await.1["user"]["username"], "carol");
    // Carol has a password: the identity may go.
    let id = ids[0]["id"].as_str().expect("id");
    let r = app
        .send(
            app.delete(&format!("/v1/identities/{id}"))
                .header(
                    header::COOKIE,
                    format!("{}={}", app.cookie_name, login.cookie),
                )
                .header("x-csrf-token", &login.csrf),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

#[tokio::test]
async fn oidc_the_last_way_in_cannot_be_unlinked() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    let session = signed_in(&app, &peer, "sub-dora").await;
    let cookie = format!("{}={session}", app.cookie_name);
    let list = app
        .send(app.get("/v1/identities").header(header::COOKIE, &cookie))
        .await;
    let id = list.json()["identities"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The pages embed the session's CSRF token; it is the one for its handle.
    let handle = me(&app, &session).await.1["session"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let csrf = app.state.csrf.token(&handle);
    let r = app
        .send(
            app.delete(&format!("/v1/identities/{id}"))
                .header(header::COOKIE, &cookie)
                .header("x-csrf-token", csrf),
        )
        .await;
    assert_problem(&r, 409, "last_way_in");
    let list = app
        .send(app.get("/v1/identities").header(header::COOKIE, &cookie))
        .await;
    assert_eq!(list.json()["identities"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn oidc_a_tampered_state_or_another_browser_is_refused() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    peer.next_login("sub-eve", "eve").await;
    let mut browser = Browser::default();
    let cb = browser.sign_in(&app, "", None).await;
    // Tampered state.
    let tampered = crate::oidc_peer::Callback {
        path: cb.path.replace("state=", "state=x"),
        binding: cb.binding.clone(),
    };
    let r = callback(&app, &tampered, cb.binding.as_deref()).await;
    assert_problem(&r, 400, "oidc_failed");
    // An answer naming another issuer (RFC 9207 mix-up).
    let mixed = crate::oidc_peer::Callback {
        path: cb.path.replace("iss=http", "iss=https"),
        binding: cb.binding.clone(),
    };
    assert!(mixed.path.contains("iss=https"));
    let r = callback(&app, &mixed, cb.binding.as_deref()).await;
    assert_problem(&r, 400, "oidc_failed");
    // Login CSRF: the callback sent to a browser without the binding
    // cookie (the victim's) is refused, and spends the state.
    let mut other = Browser::default();
    let cb2 = other.sign_in(&app, "", None).await;
    let r = callback(&app, &cb2, None).await;
    assert_problem(&r, 400, "oidc_failed");
    let r = callback(&app, &cb2, cb2.binding.as_deref()).await;
    assert_problem(&r, 400, "oidc_failed");
    // With someone else's binding cookie: refused too.
    let cb3 = Browser::default().sign_in(&app, "", None).await;
    let r = callback(&app, &cb3, cb.binding.as_deref()).await;
    assert_problem(&r, 400, "oidc_failed");
}

#[tokio::test]
async fn oidc_a_replayed_callback_is_refused() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    peer.next_login("sub-fay", "fay").await;
    let cb = Browser::default().sign_in(&app, "", None).await;
    let first = callback(&app, &cb, cb.binding.as_deref()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = callback(&app, &cb, cb.binding.as_deref()).await;
    assert_problem(&again, 400, "oidc_failed");
    assert!(cookie_value(&again, app.cookie_name).is_none());
}

#[tokio::test]
async fn oidc_an_open_return_to_is_refused() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    for to in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "evil",
        "/%0d%0aSet-Cookie:x=1",
    ] {
        let q = format!(
            "/v1/oidc/test/start?return_to={}",
            to.replace('/', "%2F").replace('\\', "%5C")
        );
        let r = app.send(app.get(&q)).await;
        assert_problem(&r, 400, "invalid_return_to");
    }
}

#[tokio::test]
async fn oidc_a_provider_down_at_start_is_retried_and_then_works() {
    if !enabled() {
        return;
    }
    // A port with nothing behind it yet.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let issuer = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(move |c| {
        c.http.oidc_providers = vec![crate::oidc_peer::provider_config(&issuer)];
    })
    .await;
    app.clock.set(real_now());
    // latchkey is up; the button says the provider is unavailable.
    let page = app.send(app.get("/login")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Sign in with Test IdP (unavailable)"),
        "{}",
        page.body
    );
    let r = app.send(app.get("/v1/oidc/test/start")).await;
    assert_eq!(r.status, 502, "{}", r.body);
    // The provider comes up: latchkey finds it on its own.
    let peer = Peer::start(Some(port)).await;
    wait_available(&app).await;
    let page = app.send(app.get("/login")).await;
    assert!(
        page.body.contains("href=\"/v1/oidc/test/start\""),
        "{}",
        page.body
    );
    let session = signed_in(&app, &peer, "sub-gus").await;
    assert_eq!(me(&app, &session).await.0, 200);
}

#[tokio::test]
async fn oidc_back_channel_logout_ends_the_session_on_every_node() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let a = app_with(&peer).await;
    let b = a.spawn_beside().await;
    wait_available(&b).await;
    peer.relay_logout_to(&a.url("/v1/oidc/test/backchannel-logout"))
        .await;
    peer.next_login("sub-hal", "hal").await;
    let mut browser = Browser::default();
    let cb = browser.sign_in(&a, "", None).await;
    let r = callback(&a, &cb, cb.binding.as_deref()).await;
    let session = cookie_value(&r, a.cookie_name).expect("session");
    assert_eq!(me(&b, &session).await.0, 200);
    browser.sign_out_at(&peer).await;
    assert_eq!(
        me(&a, &session).await.0,
        401,
        "ended on the node that got the token"
    );
    let mut ended_on_b = false;
    for _ in 0..100 {
        if me(&b, &session).await.0 == 401 {
            ended_on_b = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ended_on_b, "ended on the other node within 10 s");
    // The same logout token again is a replay.
    let body = peer.last_logout().await;
    assert!(body.starts_with("logout_token="), "{body}");
    let replay = a
        .send(
            a.post("/v1/oidc/test/backchannel-logout")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body),
        )
        .await;
    assert_problem(&replay, 400, "oidc_failed");
}
