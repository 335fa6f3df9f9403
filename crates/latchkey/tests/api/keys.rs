//! Signing keys: `GET /.well-known/jwks.json`, the configured algorithm,
//! and rotation (a retired key verifies until its last token has expired,
//! then leaves the JWKS).

use std::time::Duration;

use latchkey::Config;
use latchkey_core::Clock as _;
use latchkey_tokens::{Algorithm, Expectations, Verifier};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{MINUTE, PASSWORD, TestApp};
use crate::jwt;

/// Verifies `token` as a resource server would, from the JWKS alone.
fn verifies_with_jwks(app: &TestApp, jwks: &Value, token: &str) -> bool {
    let verifier = Verifier::from_jwks(jwks).expect("a usable JWKS");
    let t = &app.config.http.tokens;
    let expect = Expectations::new(t.issuer.clone(), t.audience.clone());
    verifier
        .verify(token, &expect, app.clock.now().unix_seconds())
        .is_ok()
}

fn sorted_names(v: &Value) -> Vec<String> {
    let mut names: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_jwks_publishes_the_current_public_key_with_cache_headers() {
    let app = TestApp::spawn().await;
    let pair = app.token_user("alice").await;
    let r = app.send(app.get("/.well-known/jwks.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    let cache = r.header("cache-control").expect("Cache-Control");
    assert!(cache.contains("max-age="), "{cache}");
    assert!(!cache.contains("no-store"), "{cache}");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    let jwks = r.json();
    assert_eq!(sorted_names(&jwks), ["keys"]);
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    assert_eq!(sorted_names(key), ["alg", "crv", "kid", "kty", "use", "x"]);
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], jwt::header(&pair.access)["kid"]);
    assert!(key.get("d").is_none(), "no private part");
    // A resource server needs nothing else to verify our tokens.
    assert!(verifies_with_jwks(&app, &jwks, &pair.access));
    // Public: no credential needed, and a credential changes nothing.
    let r = app
        .send(
            app.get("/.well-known/jwks.json")
                .header("authorization", "Bearer x"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn an_hs256_server_publishes_no_key_and_its_tokens_work() {
    let app = TestApp::spawn_with(|cfg: &mut Config| cfg.algorithm = Algorithm::HS256).await;
    let pair = app.token_user("alice").await;
    assert_eq!(jwt::header(&pair.access)["alg"], "HS256");
    app.assert_bearer_works(&pair.access).await;
    let r = app.send(app.get("/.well-known/jwks.json")).await;
    assert_eq!(r.json(), json!({"keys": []}));
    assert!(!r.body.contains("\"k\""), "{}", r.body);
    // Forged with the right kid but without the secret: refused.
    let (kid, _) = jwt::server_key(&app).await;
    let guess = jwt::Signer::hs256(&[0u8; 32]);
    let forged = jwt::forge(
        &jwt::at_jwt_header("HS256", &kid),
        &jwt::claims(&pair.access),
        &guess,
    );
    app.assert_bearer_refused(&forged).await;
}

#[tokio::test]
async fn es256_and_rs256_servers_issue_tokens_of_that_algorithm() {
    for (alg, kty) in [(Algorithm::ES256, "EC"), (Algorithm::RS256, "RSA")] {
        let app = TestApp::spawn_with(move |cfg: &mut Config| cfg.algorithm = alg).await;
        let pair = app.token_user("alice").await;
        let header = jwt::header(&pair.access);
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["typ"], "at+jwt");
        app.assert_bearer_works(&pair.access).await;
        let next = app.refresh(&pair.refresh).await;
        app.assert_bearer_works(&next.access).await;
        let jwks = app.jwks().await;
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], kty, "{jwks}");
        assert_eq!(key["alg"], alg.as_str());
        assert_eq!(key["kid"], header["kid"]);
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} in {jwks}");
        }
        assert!(verifies_with_jwks(&app, &jwks, &pair.access));
    }
}

#[tokio::test]
async fn after_a_rotation_old_tokens_keep_working_and_new_ones_use_the_new_key() {
    let app = TestApp::spawn().await;
    let old = app.token_user("alice").await;
    let old_kid = app.state.tokens.current_kid();
    app.advance(MINUTE);
    let new_kid = app.rotate_keys().await;
    app.reload_keys().await;
    assert_ne!(new_kid, old_kid);
    app.assert_bearer_works(&old.access).await;
    let new = app.token_login("alice", PASSWORD).await;
    assert_eq!(jwt::header(&new.access)["kid"], new_kid.as_str());
    app.assert_bearer_works(&new.access).await;
    // Refreshing an old family signs with the new key.
    let refreshed = app.refresh(&old.refresh).await;
    assert_eq!(jwt::header(&refreshed.access)["kid"], new_kid.as_str());
    let mut kids = app.jwks_kids().await;
    kids.sort();
    let mut both = vec![old_kid.clone(), new_kid.clone()];
    both.sort();
    assert_eq!(kids, both);
    let jwks = app.jwks().await;
    assert!(verifies_with_jwks(&app, &jwks, &old.access));
    assert!(verifies_with_jwks(&app, &jwks, &new.access));
    // A restarted server reads the same set.
    let app = app.restart().await;
    assert_eq!(app.state.tokens.current_kid(), new_kid);
    app.assert_bearer_works(&old.access).await;
    assert_eq!(app.jwks_kids().await.len(), 2);
}

#[tokio::test]
async fn a_retired_key_leaves_the_jwks_once_its_last_token_has_expired() {
    let app = TestApp::spawn().await;
    let old = app.token_user("alice").await;
    let old_kid = app.state.tokens.current_kid();
    // The last token the old key signs is issued just before the rotation.
    app.advance(MINUTE);
    let last = app.refresh(&old.refresh).await;
    let new_kid = app.rotate_keys().await;
    app.reload_keys().await;
    // Retired keys verify for access_ttl + key reload (30 s) + 60 s.
    let keep = 5 * MINUTE + Duration::from_secs(90);
    let before_exp = 5 * MINUTE - Duration::from_secs(1);
    app.advance(before_exp);
    app.assert_bearer_works(&last.access).await;
    app.advance(keep - before_exp);
    app.reload_keys().await;
    assert_eq!(
        app.jwks_kids().await,
        vec![new_kid.clone()],
        "{old_kid} is gone"
    );
    app.assert_bearer_refused(&last.access).await;
    // The family itself lives on under the new key.
    let next = app.refresh(&last.refresh).await;
    assert_eq!(jwt::header(&next.access)["kid"], new_kid.as_str());
    app.assert_bearer_works(&next.access).await;
    // And a restart does not bring the old key back.
    let app = app.restart().await;
    assert_eq!(app.jwks_kids().await, [new_kid]);
}

#[tokio::test]
async fn a_retired_key_is_still_published_a_second_before_its_end() {
    let app = TestApp::spawn().await;
    app.token_user("alice").await;
    let old_kid = app.state.tokens.current_kid();
    app.rotate_keys().await;
    app.advance(5 * MINUTE + Duration::from_secs(89));
    app.reload_keys().await;
    assert!(app.jwks_kids().await.contains(&old_kid));
}

#[tokio::test]
async fn changing_the_configured_algorithm_rotates_and_keeps_old_tokens_working() {
    let app = TestApp::spawn().await;
    let old = app.token_user("alice").await;
    let app = app
        .restart_with(|cfg: &mut Config| cfg.algorithm = Algorithm::ES256)
        .await;
    app.assert_bearer_works(&old.access).await;
    let new = app.token_login("alice", PASSWORD).await;
    assert_eq!(jwt::header(&new.access)["alg"], "ES256");
    app.assert_bearer_works(&new.access).await;
    let jwks = app.jwks().await;
    let mut algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "EdDSA"]);
}

/// Keys made before kids were shortened have 22-character kids: their
/// tokens keep verifying, before and after the next rotation (which makes
/// an 8-character kid) and across a restart. New tokens carry the short
/// kid and a 16-character `jti` (it was 22), from a login and a refresh.
#[tokio::test]
async fn tokens_signed_with_a_long_kid_and_jti_before_the_upgrade_keep_verifying() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let long = latchkey_tokens::Kid::parse("AbCdEfGhIjKlMnOpQrStUv").unwrap();
    let stored = latchkey_tokens::KeyMaterial::generate(Algorithm::EdDSA, long)
        .unwrap()
        .to_stored();
    let record = latchkey_store::KeyRecord {
        kid: stored.kid.as_str().to_owned(),
        alg: "EdDSA".into(),
        private: stored.private.clone(),
        sealed: false,
        created_at: now,
        retired_at: None,
        not_after: None,
    };
    app.state
        .store()
        .rotate_key(&record, now, now.saturating_add(Duration::from_secs(3600)))
        .await
        .unwrap();
    app.reload_keys().await;
    let old = app.token_user("alice").await;
    assert_eq!(jwt::header(&old.access)["kid"], "AbCdEfGhIjKlMnOpQrStUv");
    app.assert_bearer_works(&old.access).await;

    app.advance(MINUTE);
    let new_kid = app.rotate_keys().await;
    app.reload_keys().await;
    assert_eq!(new_kid.len(), 8, "{new_kid}");
    app.assert_bearer_works(&old.access).await;
    let new = app.token_login("alice", PASSWORD).await;
    assert_eq!(jwt::header(&new.access)["kid"], new_kid.as_str());
    let jti = jwt::claims(&new.access)["jti"].as_str().unwrap().to_owned();
    assert_eq!(jti.len(), 16, "{jti}");
    let refreshed = app.refresh(&new.refresh).await;
    let jti = jwt::claims(&refreshed.access)["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jti.len(), 16, "{jti}");
    let app = app.restart().await;
    app.assert_bearer_works(&old.access).await;
    app.assert_bearer_works(&new.access).await;
}
