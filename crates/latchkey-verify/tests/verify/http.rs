//! The axum extractor and the tower layer: what a client of a resource
//! server sees. Driven in-process with `oneshot`.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Extension;
use axum::http::{Request, Response, StatusCode, header};
use axum::routing::get;
use latchkey_verify::{AccessClaims, Claims, LatchkeyVerifier, RequireLatchkeyLayer};
use serde_json::Value;
use tower::ServiceExt;

use crate::support::{Answer, Latchkey, Mode, NOW, TestClock, verifier};

/// A router whose `/layer` is behind the layer and whose `/extractor`
/// takes `Claims` itself.
fn app(verifier: LatchkeyVerifier) -> Router {
    let layered = Router::new()
        .route(
            "/layer",
            get(|Extension(claims): Extension<AccessClaims>| async move { claims.sub }),
        )
        .route(
            "/layer-and-extractor",
            get(|Claims(claims): Claims| async move { claims.sub }),
        )
        .route_layer(RequireLatchkeyLayer::new(verifier.clone()));
    Router::new()
        .route(
            "/extractor",
            get(|Claims(claims): Claims| async move { claims.sub }),
        )
        .merge(layered)
        .with_state(verifier)
}

async fn get_with(app: &Router, uri: &str, authorization: Option<&str>) -> Response<Body> {
    let mut request = Request::get(uri);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn problem(response: Response<Body>) -> Value {
    let content_type = response.headers().get(header::CONTENT_TYPE).unwrap();
    assert_eq!(content_type, "application/problem+json");
    let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

fn challenge(response: &Response<Body>) -> Option<&str> {
    response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap())
}

const PATHS: [&str; 3] = ["/extractor", "/layer", "/layer-and-extractor"];

#[tokio::test]
async fn a_valid_bearer_token_reaches_the_handler_with_its_claims() {
    let latchkey = Latchkey::start().await;
    let app = app(verifier(latchkey.config(), &TestClock::at(NOW)));
    let bearer = format!("Bearer {}", latchkey.token(NOW));
    for path in PATHS {
        let response = get_with(&app, path, Some(&bearer)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"user-1");
    }
}

#[tokio::test]
async fn a_bad_token_gets_401_invalid_token_problem_json() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW + 300);
    let app = app(verifier(latchkey.config(), &clock));
    let expired = format!("Bearer {}", latchkey.token(NOW));
    for path in PATHS {
        for authorization in [expired.as_str(), "Bearer not-a-token", "Basic dXNlcjpwdw=="] {
            let response = get_with(&app, path, Some(authorization)).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(
                challenge(&response),
                Some("Bearer realm=\"latchkey\", error=\"invalid_token\"")
            );
            let problem = problem(response).await;
            assert_eq!(problem["code"], "invalid_token");
            assert_eq!(problem["status"], 401);
            assert_eq!(problem["type"], "urn:latchkey:problem:invalid_token");
            assert_eq!(problem["title"], "Unauthorized");
            assert!(problem["detail"].is_string());
        }
    }
}

#[tokio::test]
async fn a_request_without_a_token_is_challenged_without_an_error() {
    let latchkey = Latchkey::start().await;
    let app = app(verifier(latchkey.config(), &TestClock::at(NOW)));
    for path in PATHS {
        let response = get_with(&app, path, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(challenge(&response), Some("Bearer realm=\"latchkey\""));
        assert_eq!(problem(response).await["code"], "unauthenticated");
    }
    assert_eq!(latchkey.jwks_fetches(), 0);
}

#[tokio::test]
async fn a_token_in_the_query_string_is_refused_even_with_a_valid_header() {
    let latchkey = Latchkey::start().await;
    let app = app(verifier(latchkey.config(), &TestClock::at(NOW)));
    let token = latchkey.token(NOW);
    let bearer = format!("Bearer {token}");
    for path in PATHS {
        let uri = format!("{path}?access_token={token}");
        for authorization in [None, Some(bearer.as_str())] {
            let response = get_with(&app, &uri, authorization).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(
                challenge(&response),
                Some("Bearer realm=\"latchkey\", error=\"invalid_request\"")
            );
            assert_eq!(problem(response).await["code"], "token_in_query");
        }
    }
}

#[tokio::test]
async fn behind_the_layer_the_extractor_does_not_verify_again() {
    let latchkey = Latchkey::start().await;
    let app = app(verifier(
        latchkey.config_with_introspection(),
        &TestClock::at(NOW),
    ));
    let bearer = format!("Bearer {}", latchkey.token(NOW));
    let response = get_with(&app, "/layer-and-extractor", Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(latchkey.introspections().len(), 1);
}

#[tokio::test]
async fn a_revoked_token_is_401_and_unreachable_introspection_is_503() {
    let latchkey = Latchkey::start().await;
    let app = app(verifier(
        latchkey.config_with_introspection(),
        &TestClock::at(NOW),
    ));
    let bearer = format!("Bearer {}", latchkey.token(NOW));
    latchkey.set_answer(Answer::Inactive);
    for path in PATHS {
        let response = get_with(&app, path, Some(&bearer)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(problem(response).await["code"], "invalid_token");
    }
    latchkey.set_introspection_mode(Mode::Status(503));
    for path in PATHS {
        let response = get_with(&app, path, Some(&bearer)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
        assert_eq!(challenge(&response), None);
        assert_eq!(problem(response).await["code"], "introspection_unavailable");
    }
}

#[tokio::test]
async fn refusals_carry_no_store() {
    let latchkey = Latchkey::start().await;
    let app = app(verifier(latchkey.config(), &TestClock::at(NOW)));
    let response = get_with(&app, "/layer", None).await;
    assert_eq!(
        response.headers().get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
}
