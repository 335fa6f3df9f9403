//! Passkeys (API.md, "Second factors and passkeys"): registration by a
//! signed-in user, listing and deleting, and signing in with a passkey
//! alone in each credential flavour, driven by the software authenticator
//! in `soft_authenticator.rs`.

use latchkey_auth::PasskeySettings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::soft_authenticator::SoftPasskey;

pub(crate) const ORIGIN: &str = "https://example.test";

pub(crate) async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| {
        c.http.passkeys = PasskeySettings {
            rp_id: Some("example.test".into()),
            origins: vec![ORIGIN.into()],
        };
    })
    .await
}

/// Registers a new passkey for `login` and returns it with its id.
pub(crate) async fn register(app: &TestApp, login: &Login, synced: bool) -> (SoftPasskey, String) {
    let options = app
        .send(app.post("/v1/passkeys/register/options").authed(login))
        .await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let (passkey, credential) = SoftPasskey::create(&options.json(), ORIGIN, synced);
    let r = app
        .send(
            app.post("/v1/passkeys/register")
                .authed(login)
                .json(&json!({ "credential": credential, "name": "laptop" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let body = r.json();
    assert_eq!(body["name"], "laptop");
    assert_eq!(body["created_at"], START_RFC3339);
    (passkey, body["id"].as_str().expect("id").to_owned())
}

async fn login_options(app: &TestApp) -> Value {
    let r = app.send(app.post("/v1/passkeys/login/options")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

async fn passkey_login(app: &TestApp, passkey: &mut SoftPasskey, issue: &str) -> Reply {
    let options = login_options(app).await;
    let credential = passkey.get(&options, ORIGIN);
    app.send(app.post("/v1/passkeys/login").json(&json!({
        "challenge_id": options["challenge_id"],
        "credential": credential,
        "issue": issue,
    })))
    .await
}

#[tokio::test]
async fn a_passkey_alone_signs_in_in_every_flavour() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let (mut passkey, _) = register(&app, &alice, false).await;

    let session = passkey_login(&app, &mut passkey, "session").await;
    let login = app.login_from(&session);
    assert_eq!(login.user_id, alice.user_id);
    let current = app.send(app.get("/v1/session").cookie_of(&login)).await;
    assert_eq!(current.json()["amr"], json!(["hwk", "mfa"]));
    assert_eq!(current.json()["auth_time"], START.unix_seconds());
    let page = app.send(app.get("/account").cookie_of(&login)).await;
    assert!(
        page.body
            .contains("Signed in with a passkey on this device (multi-factor)"),
        "{}",
        page.body
    );

    let tokens = passkey_login(&app, &mut passkey, "tokens").await;
    let pair = pair_from(&tokens);
    app.assert_bearer_works(&pair.access).await;
    let claims = jwt_claims(&pair.access);
    assert_eq!(claims["sub"], alice.user_id.as_str());
    assert_eq!(claims["amr"], json!(["hwk", "mfa"]));

    let hybrid = passkey_login(&app, &mut passkey, "cookie_jwt").await;
    assert_eq!(hybrid.status, StatusCode::OK, "{}", hybrid.body);
    let names: Vec<String> = hybrid
        .set_cookies()
        .iter()
        .map(|c| SetCookie::parse(c).name)
        .collect();
    assert!(names.iter().any(|n| n.ends_with("lk_at")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("lk_rt")), "{names:?}");
    assert_eq!(hybrid.json()["user"]["id"], alice.user_id.as_str());
    assert!(hybrid.json()["csrf_token"].is_string());

    // No `issue`: a cookie session, as the session login answers.
    let options = login_options(&app).await;
    let credential = passkey.get(&options, ORIGIN);
    let r = app
        .send(app.post("/v1/passkeys/login").json(&json!({
            "challenge_id": options["challenge_id"], "credential": credential,
        })))
        .await;
    app.login_from(&r);
}

#[tokio::test]
async fn registration_asks_for_a_discoverable_verified_credential_and_excludes_known_ones() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let (first, id) = register(&app, &alice, true).await;
    let r = app
        .send(app.post("/v1/passkeys/register/options").authed(&alice))
        .await;
    let pk = &r.json()["publicKey"];
    assert_eq!(pk["rp"]["id"], "example.test");
    let sel = &pk["authenticatorSelection"];
    assert_eq!(sel["residentKey"], "required");
    assert_eq!(sel["requireResidentKey"], true);
    assert_eq!(sel["userVerification"], "required");
    let excluded: Vec<Vec<u8>> = pk["excludeCredentials"]
        .as_array()
        .expect("excludeCredentials")
        .iter()
        .map(|c| {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c["id"].as_str().unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(excluded, vec![first.credential_id.clone()]);
    let list = app.send(app.get("/v1/passkeys").cookie_of(&alice)).await;
    assert_eq!(list.status, StatusCode::OK);
    let items = list.json()["passkeys"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["backup_eligible"], true);
}

#[tokio::test]
async fn any_credential_registers_and_cookies_need_the_csrf_token() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let r = app
        .send(app.post("/v1/passkeys/register/options").cookie_of(&alice))
        .await;
    assert_problem(&r, 403, "csrf_failed");
    let pair = app.token_login("alice", PASSWORD).await;
    let options = app
        .send(
            app.post("/v1/passkeys/register/options")
                .bearer(&pair.access),
        )
        .await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let (_, credential) = SoftPasskey::create(&options.json(), ORIGIN, false);
    let r = app
        .send(
            app.post("/v1/passkeys/register")
                .bearer(&pair.access)
                .json(&json!({ "credential": credential })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(
        r.json()["name"]
            .as_str()
            .unwrap()
            .starts_with("Passkey added 2026-01-01")
    );
    let anonymous = app.send(app.post("/v1/passkeys/register/options")).await;
    assert_problem(&anonymous, 401, "unauthenticated");
}

#[tokio::test]
async fn a_wrong_origin_is_refused() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let options = app
        .send(app.post("/v1/passkeys/register/options").authed(&alice))
        .await;
    let (_, credential) = SoftPasskey::create(&options.json(), "https://evil.test", false);
    let r = app
        .send(
            app.post("/v1/passkeys/register")
                .authed(&alice)
                .json(&json!({ "credential": credential })),
        )
        .await;
    assert_problem(&r, 401, "passkey_refused");

    let (mut passkey, _) = register(&app, &alice, false).await;
    let options = login_options(&app).await;
    let credential = passkey.get(&options, "https://evil.test");
    let r = app
        .send(app.post("/v1/passkeys/login").json(&json!({
            "challenge_id": options["challenge_id"], "credential": credential,
        })))
        .await;
    assert_problem(&r, 401, "passkey_refused");
    assert!(r.set_cookies().is_empty());
}

#[tokio::test]
async fn a_challenge_is_answered_once_and_within_five_minutes() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let (mut passkey, _) = register(&app, &alice, true).await;
    let options = login_options(&app).await;
    let body = json!({
        "challenge_id": options["challenge_id"],
        "credential": passkey.get(&options, ORIGIN),
        "issue": "tokens",
    });
    let first = app.send(app.post("/v1/passkeys/login").json(&body)).await;
    // A synced passkey is a software key.
    assert_eq!(
        jwt_claims(&pair_from(&first).access)["amr"],
        json!(["swk", "mfa"])
    );
    let replay = app.send(app.post("/v1/passkeys/login").json(&body)).await;
    assert_problem(&replay, 401, "passkey_refused");
    // The old assertion under a fresh challenge id does not verify either.
    let fresh = login_options(&app).await;
    let mut moved = body.clone();
    moved["challenge_id"] = fresh["challenge_id"].clone();
    let r = app.send(app.post("/v1/passkeys/login").json(&moved)).await;
    assert_problem(&r, 401, "passkey_refused");
    // A ceremony left for five minutes has ended.
    let late = login_options(&app).await;
    let credential = passkey.get(&late, ORIGIN);
    app.advance(5 * MINUTE);
    let r = app
        .send(app.post("/v1/passkeys/login").json(&json!({
            "challenge_id": late["challenge_id"], "credential": credential,
        })))
        .await;
    assert_problem(&r, 401, "passkey_refused");
}

#[tokio::test]
async fn only_the_owner_deletes_a_passkey() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (mut passkey, id) = register(&app, &alice, false).await;
    let path = format!("/v1/passkeys/{id}");
    let r = app.send(app.delete(&path).authed(&bob)).await;
    assert_problem(&r, 404, "not_found");
    let bobs = app.send(app.get("/v1/passkeys").cookie_of(&bob)).await;
    assert_eq!(bobs.json()["passkeys"], json!([]));
    let r = app.send(app.delete(&path).cookie_of(&alice)).await;
    assert_problem(&r, 403, "csrf_failed");
    let r = app.send(app.delete(&path).authed(&alice)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.send(app.delete(&path).authed(&alice)).await;
    assert_problem(&r, 404, "not_found");
    let r = passkey_login(&app, &mut passkey, "session").await;
    assert_problem(&r, 401, "passkey_refused");
}

#[tokio::test]
async fn a_counter_that_goes_back_is_refused_as_a_clone() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let (mut passkey, _) = register(&app, &alice, false).await;
    passkey.counter = 4;
    let r = passkey_login(&app, &mut passkey, "tokens").await;
    pair_from(&r);
    let list = app.send(app.get("/v1/passkeys").cookie_of(&alice)).await;
    assert_eq!(list.json()["passkeys"][0]["last_used_at"], START_RFC3339);
    // A clone that signs with an older counter (or the same one).
    for counter in [2, 4] {
        passkey.counter = counter;
        passkey.counting = false;
        let r = passkey_login(&app, &mut passkey, "tokens").await;
        assert_problem(&r, 401, "passkey_refused");
    }
    // The real authenticator, moving on.
    passkey.counter = 5;
    passkey.counting = true;
    let r = passkey_login(&app, &mut passkey, "tokens").await;
    pair_from(&r);
}

#[tokio::test]
async fn passkey_options_are_rate_limited_per_address() {
    let app = TestApp::spawn_with(|c| {
        c.http.passkeys = PasskeySettings {
            rp_id: Some("example.test".into()),
            origins: vec![ORIGIN.into()],
        };
        c.http.address_limits.passkey_options.per_address = 2;
    })
    .await;
    login_options(&app).await;
    login_options(&app).await;
    let r = app.send(app.post("/v1/passkeys/login/options")).await;
    assert_problem(&r, 429, "rate_limited");
}

#[tokio::test]
async fn without_a_domain_passkeys_are_unavailable() {
    // An issuer on an IP address other than loopback: no domain, no passkeys.
    let app = TestApp::spawn_with(|c| c.http.tokens.issuer = "http://192.0.2.1:8080".into()).await;
    let r = app.send(app.post("/v1/passkeys/login/options")).await;
    assert_problem(&r, 404, "passkeys_unavailable");
}

#[tokio::test]
async fn an_operator_mfa_reset_removes_the_passkeys_too() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let (mut passkey, _) = register(&app, &alice, false).await;
    let user = latchkey_core::UserId::parse(&alice.user_id).unwrap();
    let at = app.state.revoke_at();
    let ended = latchkey_auth::mfa::reset_mfa(app.state.store().as_ref(), at, user)
        .await
        .unwrap();
    app.state.ended(&ended);
    let listed = app.send(app.get("/v1/passkeys").authed(&alice)).await;
    assert_eq!(
        listed.status,
        StatusCode::UNAUTHORIZED,
        "the reset ended the session"
    );
    let refused = passkey_login(&app, &mut passkey, "tokens").await;
    assert_problem(&refused, 401, "passkey_refused");
    let again = app.login("alice", PASSWORD, false).await;
    let listed = app.send(app.get("/v1/passkeys").authed(&again)).await;
    assert_eq!(listed.json()["passkeys"], json!([]));
}
