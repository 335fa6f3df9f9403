//! Demanding how the caller signed in: a route behind the verifier that
//! also asks for `mfa` and a sign-in at most five minutes old, as a
//! client of a resource server sees it.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use latchkey_verify::{AccessClaims, AuthRequirement, Claims, LatchkeyVerifier};
use serde_json::Value;
use tower::ServiceExt;

use crate::support::{Latchkey, NOW, TestClock, verifier};

fn sensitive() -> AuthRequirement {
    AuthRequirement::new()
        .amr("mfa")
        .max_age(Duration::from_secs(300))
}

fn app(verifier: LatchkeyVerifier) -> Router {
    Router::new()
        .route(
            "/sensitive",
            get(
                |State(v): State<LatchkeyVerifier>, Claims(claims): Claims| async move {
                    match v.require(&claims, &sensitive()) {
                        Ok(()) => claims.sub.into_response(),
                        Err(refused) => refused.into_response(),
                    }
                },
            ),
        )
        .with_state(verifier)
}

fn signed_in(latchkey: &Latchkey, amr: &[&str], auth_time: Option<i64>) -> String {
    latchkey.sign(&AccessClaims {
        amr: amr.iter().map(|v| (*v).to_owned()).collect(),
        auth_time,
        exp: NOW + 3600,
        ..latchkey.claims(NOW)
    })
}

async fn call(app: &Router, token: &str) -> axum::http::Response<Body> {
    let request = Request::get("/sensitive")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(request).await.unwrap()
}

#[tokio::test]
async fn verified_claims_expose_amr_and_auth_time() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let v = verifier(latchkey.config(), &clock);
    let token = signed_in(&latchkey, &["pwd", "otp", "mfa"], Some(NOW - 10));
    let claims = v.verify(&token).await.unwrap();
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
    assert_eq!(claims.auth_time, Some(NOW - 10));
    // A token without them still verifies; it just demands nothing.
    let plain = v.verify(&latchkey.token(NOW)).await.unwrap();
    assert!(plain.amr.is_empty());
    assert_eq!(plain.auth_time, None);
}

#[tokio::test]
async fn a_recent_multi_factor_sign_in_passes() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let app = app(verifier(latchkey.config(), &clock));
    let token = signed_in(&latchkey, &["pwd", "otp", "mfa"], Some(NOW - 300));
    let response = call(&app, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_weak_or_old_sign_in_is_refused_with_rfc_9470s_challenge() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let app = app(verifier(latchkey.config(), &clock));
    for token in [
        signed_in(&latchkey, &["pwd"], Some(NOW)),
        signed_in(&latchkey, &["pwd", "otp", "mfa"], Some(NOW - 301)),
        signed_in(&latchkey, &["pwd", "otp", "mfa"], None),
    ] {
        let response = call(&app, &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(
            challenge.contains("error=\"insufficient_user_authentication\""),
            "{challenge}"
        );
        assert!(challenge.contains("max_age=\"300\""), "{challenge}");
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let problem: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "insufficient_user_authentication");
        assert_eq!(problem["status"], 401);
    }
}

#[tokio::test]
async fn the_age_is_measured_by_the_verifiers_clock() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let app = app(verifier(latchkey.config(), &clock));
    let token = signed_in(&latchkey, &["hwk", "mfa"], Some(NOW));
    assert_eq!(call(&app, &token).await.status(), StatusCode::OK);
    clock.advance(301);
    assert_eq!(call(&app, &token).await.status(), StatusCode::UNAUTHORIZED);
}
