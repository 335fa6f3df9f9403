//! Provider sign-in beyond the session cookie: the hybrid cookies (and
//! back-channel logout ending their family), an account with a second
//! factor, registration turned off, and logout tokens that are not.

use reqwest::header;

use crate::helpers::{RequestExt as _, TestApp, assert_problem};
use crate::oidc::{app_with, me};
use crate::oidc_peer::{Browser, Peer, callback, cookie_value, enabled, provider_config, real_now};

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {body}"))
        + marker.len();
    body[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn oidc_the_hybrid_flavour_sets_its_cookies_and_back_channel_logout_revokes_the_family() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    peer.relay_logout_to(&app.url("/v1/oidc/test/backchannel-logout"))
        .await;
    peer.next_login("sub-jo", "jo").await;
    let mut browser = Browser::default();
    let cb = browser
        .sign_in(&app, "?issue=cookie_jwt&return_to=/", None)
        .await;
    let r = callback(&app, &cb, cb.binding.as_deref()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let at = cookie_value(&r, "__Host-lk_at").expect("the access-token cookie");
    let rt = cookie_value(&r, "__Secure-lk_rt").expect("the refresh cookie");
    assert!(
        cookie_value(&r, app.cookie_name).is_none(),
        "no session cookie"
    );
    let who = app
        .send(app.get("/v1/me").raw_cookie("__Host-lk_at", &at))
        .await;
    assert_eq!(who.status, 200, "{}", who.body);
    assert_eq!(who.json()["auth"], "cookie_jwt");
    assert_eq!(who.json()["user"]["username"], "jo");
    browser.sign_out_at(&peer).await;
    // The access token is revoked at once; the refresh token is dead.
    let who = app
        .send(app.get("/v1/me").raw_cookie("__Host-lk_at", &at))
        .await;
    assert_eq!(who.status, 401, "{}", who.body);
    let refresh = app
        .send(
            app.post("/v1/token/refresh")
                .json(&serde_json::json!({ "refresh_token": rt })),
        )
        .await;
    assert_eq!(refresh.status, 401, "{}", refresh.body);
}

#[tokio::test]
async fn oidc_an_account_with_a_second_factor_still_needs_it() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    let (login, totp) = app.mfa_user("kim").await;
    // Linking while signed in needs no second step: kim is signed in.
    peer.next_login("sub-kim", "kim-at-idp").await;
    let cb = Browser::default()
        .sign_in(&app, "", Some(&login.cookie))
        .await;
    assert_eq!(callback(&app, &cb, cb.binding.as_deref()).await.status, 200);
    // Signing in with the identity now asks for the code, and sets nothing.
    peer.relay_logout_to(&app.url("/v1/oidc/test/backchannel-logout"))
        .await;
    peer.next_login("sub-kim", "kim-at-idp").await;
    let mut browser = Browser::default();
    let cb = browser.sign_in(&app, "", None).await;
    let r = callback(&app, &cb, cb.binding.as_deref()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("action=\"/login/code\""), "{}", r.body);
    assert!(
        cookie_value(&r, app.cookie_name).is_none(),
        "no session before the code"
    );
    let token = hidden(&r.body, "mfa_token");
    let code = app.fresh_code(&totp);
    let done = app
        .send(
            app.post("/login/code")
                .form(&[("mfa_token", token.as_str()), ("code", &code)]),
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let session = cookie_value(&done, app.cookie_name).expect("session");
    let (_, body) = me(&app, &session).await;
    let amr: Vec<String> = serde_json::from_value(body["amr"].clone()).unwrap_or_default();
    // No `mfa`: what the provider checked is not known here (core's
    // `assurance::factor` gives `fed` no factor), so only `otp` is a factor.
    assert_eq!(amr, ["fed", "otp"]);
    // The session the second step started is the provider session's too.
    browser.sign_out_at(&peer).await;
    assert_eq!(
        me(&app, &session).await.0,
        401,
        "ended by back-channel logout"
    );
}

#[tokio::test]
async fn oidc_with_registration_off_an_unknown_identity_gets_no_account() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let issuer = peer.issuer.clone();
    let app = TestApp::spawn_with(move |c| {
        c.http.oidc_providers = vec![provider_config(&issuer)];
        c.http.allow_registration = false;
    })
    .await;
    app.clock.set(real_now());
    crate::oidc_peer::wait_available(&app).await;
    peer.next_login("sub-lou", "lou").await;
    let cb = Browser::default().sign_in(&app, "", None).await;
    let r = callback(&app, &cb, cb.binding.as_deref()).await;
    assert_problem(&r, 403, "registration_disabled");
    assert!(
        app.state
            .store()
            .user_by_name(&latchkey_core::Username::parse("lou").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn oidc_a_forged_or_foreign_logout_token_ends_nothing() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    peer.next_login("sub-mo", "mo").await;
    let cb = Browser::default().sign_in(&app, "", None).await;
    let r = callback(&app, &cb, cb.binding.as_deref()).await;
    let session = cookie_value(&r, app.cookie_name).expect("session");
    // An ID token is not a logout token (it has a nonce and no event).
    let id_like = "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QtcnNhIn0.eyJzdWIiOiJzdWItbW8ifQ.c2ln";
    for token in ["garbage", id_like] {
        let r = app
            .send(
                app.post("/v1/oidc/test/backchannel-logout")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(format!("logout_token={token}")),
            )
            .await;
        assert_problem(&r, 400, "oidc_failed");
    }
    let r = app
        .send(
            app.post("/v1/oidc/nobody/backchannel-logout")
                .form(&[("logout_token", "x")]),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(me(&app, &session).await.0, 200, "still signed in");
}
