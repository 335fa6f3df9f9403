//! Issue 9, items 5 and 6: the tokens latchkey mints for upstreams (the
//! BFF's APIs, forward auth) have audiences of their own, are never
//! accepted as first-party credentials, and are all known to
//! introspection.

use std::collections::HashMap;

use latchkey::config::{self, Overrides};
use latchkey_http::IntrospectionClient;
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use serde_json::Value;

use crate::bff::{AUDIENCE, Bff};
use crate::helpers::{PASSWORD, Reply, RequestExt as _, TestApp, assert_invalid_token, jwt_claims};

/// The default audience of forward-auth tokens.
const FORWARD_AUTH: &str = "latchkey-forward-auth";

/// The token `/v1/verify` hands the proxy.
fn handed_on(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .expect("Authorization: Bearer")
        .to_owned()
}

/// The bearer token the recorder saw last.
fn last_seen_token(bff: &Bff) -> String {
    let seen = bff.recorder.seen();
    let last = seen.last().expect("a request reached the upstream");
    last.headers["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned()
}

/// Every place a first-party credential is accepted refuses `token`.
async fn assert_not_first_party(bff: &Bff, token: &str) {
    let app = &bff.app;
    let before = bff.recorder.seen().len();
    app.assert_bearer_refused(token).await;
    assert_invalid_token(&app.send(app.get("/v1/verify").bearer(token)).await);
    for path in ["/bff/rec/x", "/bff/other/x"] {
        assert_invalid_token(&app.send(app.get(path).bearer(token)).await);
        // An unsafe method: a bearer token needs no CSRF token, so this
        // is the exchange the issue describes.
        assert_invalid_token(&app.send(app.post(path).bearer(token)).await);
    }
    assert_eq!(
        bff.recorder.seen().len(),
        before,
        "nothing reached upstream"
    );
}

#[tokio::test]
async fn i9_05_a_forward_auth_token_is_not_a_first_party_credential() {
    let bff = Bff::spawn_with(crate::forward_auth::behind_proxy).await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let token = handed_on(&app.send(app.get("/v1/verify").cookie_of(&alice)).await);
    let claims = jwt_claims(&token);
    assert_eq!(claims["aud"], FORWARD_AUTH, "{claims}");
    assert_eq!(claims["sub"], alice.user_id.as_str());
    assert_not_first_party(&bff, &token).await;
}

#[tokio::test]
async fn i9_05_verify_never_hands_a_first_party_token_to_the_upstream() {
    let bff = Bff::spawn_with(crate::forward_auth::behind_proxy).await;
    let app = &bff.app;
    let pair = app.token_user("alice").await;
    let token = handed_on(&app.send(app.get("/v1/verify").bearer(&pair.access)).await);
    assert_ne!(token, pair.access, "the client's own token stays with it");
    let (mine, minted) = (jwt_claims(&pair.access), jwt_claims(&token));
    assert_eq!(minted["aud"], FORWARD_AUTH);
    assert_eq!(
        (&minted["sub"], &minted["sid"]),
        (&mine["sub"], &mine["sid"])
    );
    assert_not_first_party(&bff, &token).await;

    let hybrid = app.hybrid_login("alice", PASSWORD).await;
    let r = app
        .send(
            app.get("/v1/verify")
                .header("cookie", &hybrid.access_cookie),
        )
        .await;
    let token = handed_on(&r);
    assert_ne!(
        token, hybrid.access,
        "the HttpOnly cookie's token stays put"
    );
    assert_eq!(jwt_claims(&token)["aud"], FORWARD_AUTH);
    assert_not_first_party(&bff, &token).await;
}

#[tokio::test]
async fn i9_05_a_token_minted_for_a_bff_upstream_is_not_a_first_party_credential() {
    let bff = Bff::spawn_with(crate::forward_auth::behind_proxy).await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let r = app.send(app.get("/bff/rec/x").cookie_of(&alice)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let token = last_seen_token(&bff);
    assert_eq!(jwt_claims(&token)["aud"], AUDIENCE);
    assert_not_first_party(&bff, &token).await;
}

#[tokio::test]
async fn i9_05_the_forward_auth_audience_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latchkey.toml");
    std::fs::write(&file, "[forward_auth]\naudience = \"edge-proxy\"\n").unwrap();
    let loaded = config::load(Some(&file), HashMap::new(), &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let app = TestApp::spawn_with(move |cfg| {
        crate::forward_auth::behind_proxy(cfg);
        cfg.http.tokens = loaded.http.tokens.clone();
    })
    .await;
    let bob = app.user("bob").await;
    let r = app.send(app.get("/v1/verify").cookie_of(&bob)).await;
    assert_eq!(jwt_claims(&handed_on(&r))["aud"], "edge-proxy");
}

/// `config::load` with this TOML: the problems it reports, if any.
fn problems(toml: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latchkey.toml");
    std::fs::write(&file, toml).unwrap();
    match config::load(Some(&file), HashMap::new(), &Overrides::default()) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    }
}

#[test]
fn i9_05_config_refuses_an_upstream_audience_shared_with_another() {
    let url = "url = \"http://127.0.0.1:9000\"";
    let refused = [
        // The first-party audience, given or by the API's name.
        (
            format!("[bff.apis.a]\n{url}\naudience = \"latchkey\"\n"),
            "a",
        ),
        (format!("[bff.apis.latchkey]\n{url}\n"), "latchkey"),
        (
            format!("[tokens]\naudience = \"app\"\n[bff.apis.b]\n{url}\naudience = \"app\"\n"),
            "b",
        ),
        // Another API's.
        (
            format!(
                "[bff.apis.a]\n{url}\naudience = \"x\"\n[bff.apis.b]\n{url}\naudience = \"x\"\n"
            ),
            "b",
        ),
        // Forward auth's.
        (
            format!("[bff.apis.c]\n{url}\naudience = \"{FORWARD_AUTH}\"\n"),
            "c",
        ),
    ];
    for (toml, api) in &refused {
        let all = problems(toml).join("\n");
        assert!(
            all.contains(&format!("`bff.apis.{api}.audience`")) && !all.contains("unknown key"),
            "{toml}\n=> {all}"
        );
    }
    let all = problems("[forward_auth]\naudience = \"latchkey\"\n").join("\n");
    assert!(
        all.contains("`forward_auth.audience`") && !all.contains("unknown key"),
        "{all}"
    );
    let fine =
        format!("[forward_auth]\naudience = \"edge\"\n[bff.apis.a]\n{url}\n[bff.apis.b]\n{url}\n");
    assert_eq!(problems(&fine), Vec::<String>::new());
}

// ------------------------------------------------------------ introspection

const CLIENT: &str = "orders-api";
const SECRET: &str = "a-secret-of-16-chars";

async fn introspect(app: &TestApp, token: &str) -> Value {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"));
    let r = app
        .send(
            app.post("/v1/token/introspect")
                .header(AUTHORIZATION, format!("Basic {basic}"))
                .form(&[("token", token)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

#[tokio::test]
async fn i9_06_introspection_recognises_every_audience_latchkey_issues() {
    let bff = Bff::spawn_with(|cfg| {
        crate::forward_auth::behind_proxy(cfg);
        cfg.http.introspection_clients = vec![IntrospectionClient {
            id: CLIENT.into(),
            secret: SECRET.into(),
        }];
    })
    .await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    let mut minted = Vec::new();
    for (path, audience) in [("/bff/rec/x", AUDIENCE), ("/bff/other/x", "other-api")] {
        let r = app.send(app.get(path).cookie_of(&alice)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        minted.push((last_seen_token(&bff), audience));
    }
    let r = app.send(app.get("/v1/verify").cookie_of(&alice)).await;
    minted.push((handed_on(&r), FORWARD_AUTH));
    for (token, audience) in &minted {
        let body = introspect(app, token).await;
        assert_eq!(body["active"], true, "{audience}: {body}");
        assert_eq!(body["aud"], *audience, "{body}");
        assert_eq!(body["sub"], alice.user_id.as_str(), "{body}");
    }
    // Instant revocation: the session ends, and so do its tokens.
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for (token, audience) in &minted {
        let body = introspect(app, token).await;
        assert_eq!(body, serde_json::json!({"active": false}), "{audience}");
    }
}
