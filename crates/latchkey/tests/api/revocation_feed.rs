//! `GET /v1/revocations`: the feed resource servers follow to refuse
//! revoked tokens while verifying locally.

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::Clock as _;
use latchkey_http::IntrospectionClient;
use latchkey_verify::{LatchkeyVerifier, RevocationFeed, VerifierConfig, VerifyError};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{RequestExt as _, TestApp, assert_problem};

const CLIENT: &str = "orders-api";
const SECRET: &str = "a-secret-of-16-chars";

async fn app() -> TestApp {
    TestApp::spawn_with(|cfg| {
        cfg.http.introspection_clients = vec![IntrospectionClient {
            id: CLIENT.into(),
            secret: SECRET.into(),
        }];
    })
    .await
}

fn feed(app: &TestApp, query: &str) -> reqwest::RequestBuilder {
    app.get(&format!("/v1/revocations{query}"))
        .basic_auth(CLIENT, Some(SECRET))
}

#[tokio::test]
async fn only_introspection_clients_read_the_feed() {
    let app = app().await;
    assert_problem(
        &app.send(app.get("/v1/revocations")).await,
        401,
        "invalid_client",
    );
    let wrong = app
        .get("/v1/revocations")
        .basic_auth(CLIENT, Some("not-the-secret-at-all"));
    assert_problem(&app.send(wrong).await, 401, "invalid_client");
    for bad in ["?after=-1", "?wait=26", "?after=x"] {
        assert_problem(&app.send(feed(&app, bad)).await, 400, "invalid_request");
    }
}

#[tokio::test]
async fn the_feed_lists_revocations_after_a_cursor() {
    let app = app().await;
    let r = app.send(feed(&app, "")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let start = r.json()["next"].as_i64().unwrap();
    let alice = app.user("alice").await;
    let session = app.send(app.get("/v1/session").cookie_of(&alice)).await;
    let sid = session.json()["session"]["id"].as_str().unwrap().to_owned();
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let body: Value = app
        .send(feed(&app, &format!("?after={start}")))
        .await
        .json();
    let next = body["next"].as_i64().unwrap();
    assert!(next > start);
    let entries = body["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "sid" && e["value"] == sid.as_str()),
        "{body}"
    );
    assert!(entries.iter().all(|e| e["seq"].as_i64() == Some(next)));
    // Nothing new after `next`.
    let body: Value = app.send(feed(&app, &format!("?after={next}"))).await.json();
    assert_eq!(body["entries"], serde_json::json!([]));
    assert_eq!(body["next"].as_i64(), Some(next));
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_revocation_arrives() {
    let app = app().await;
    let start = app.send(feed(&app, "")).await.json()["next"]
        .as_i64()
        .unwrap();
    let alice = app.user("alice").await;
    let pending = feed(&app, &format!("?after={start}&wait=25")).send();
    let waiting = tokio::spawn(pending);
    tokio::task::yield_now().await;
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), waiting)
        .await
        .expect("the long poll answers before its 25 s are up")
        .unwrap()
        .unwrap();
    let body: Value = answer.json().await.unwrap();
    assert!(!body["entries"].as_array().unwrap().is_empty(), "{body}");
}

/// A resource server's verifier following the feed (and the server's
/// clock for token times).
fn follower(app: &TestApp, feed: RevocationFeed) -> LatchkeyVerifier {
    let clock = app.clock.clone();
    let config = VerifierConfig::new(
        app.state.tokens.settings().issuer.clone(),
        app.state.tokens.settings().audience.clone(),
        app.url("/.well-known/jwks.json"),
    )
    .with_revocation_feed(feed);
    LatchkeyVerifier::with_clock(config, Arc::new(move || clock.now().unix_seconds())).unwrap()
}

/// Verifies until `done` says the answer is the awaited one, for at most
/// `limit`; how long it took, or `None`.
#[allow(clippy::disallowed_methods)] // a test measures real time
async fn until(
    verifier: &LatchkeyVerifier,
    token: &str,
    limit: Duration,
    done: impl Fn(&Result<latchkey_verify::AccessClaims, VerifyError>) -> bool,
) -> Option<Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if done(&verifier.verify(token).await) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_following_the_feed_refuses_a_revoked_token_within_100_ms() {
    let app = app().await;
    let feed = RevocationFeed::for_latchkey(&app.base, CLIENT, SECRET);
    let verifier = follower(&app, feed);
    let pair = app.token_user("alice").await;
    // Fails closed until the feed has answered once.
    assert_eq!(
        verifier.verify(&pair.access).await.unwrap_err(),
        VerifyError::RevocationStateUnknown
    );
    let _feed = verifier.spawn_revocation_feed().unwrap();
    let ready = until(
        &verifier,
        &pair.access,
        Duration::from_secs(5),
        Result::is_ok,
    )
    .await;
    assert!(ready.is_some(), "the feed answers");
    let mut figures = Vec::new();
    for _ in 0..20 {
        let pair = app.token_login("alice", crate::helpers::PASSWORD).await;
        assert!(verifier.verify(&pair.access).await.is_ok());
        app.revoke_token(&pair.access).await;
        let revoked = |r: &Result<_, VerifyError>| matches!(r, Err(VerifyError::Revoked));
        let took = until(&verifier, &pair.access, Duration::from_millis(100), revoked).await;
        figures.push(took.expect("refused within 100 ms of the revocation"));
    }
    figures.sort();
    eprintln!(
        "revocation feed propagation over 20 revocations: median {:?}, max {:?}",
        figures[10], figures[19]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_whose_feed_is_cut_refuses_every_token() {
    let mut app = app().await;
    let feed = RevocationFeed::for_latchkey(&app.base, CLIENT, SECRET)
        .with_timing(Duration::from_secs(1), Duration::from_secs(2));
    let verifier = follower(&app, feed);
    let pair = app.token_user("alice").await;
    let _feed = verifier.spawn_revocation_feed().unwrap();
    let ready = until(
        &verifier,
        &pair.access,
        Duration::from_secs(5),
        Result::is_ok,
    )
    .await;
    assert!(ready.is_some(), "the feed answers");
    app.shutdown().await.unwrap();
    let unknown =
        |r: &Result<_, VerifyError>| matches!(r, Err(VerifyError::RevocationStateUnknown));
    let cut = until(&verifier, &pair.access, Duration::from_secs(10), unknown).await;
    let cut = cut.expect("refused once the feed is silent longer than the bound");
    assert!(
        cut >= Duration::from_secs(1),
        "not before the bound: {cut:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::disallowed_methods)] // a test measures real time
async fn the_example_api_refuses_a_revoked_token_within_100_ms() {
    let app = app().await;
    let feed = RevocationFeed::for_latchkey(&app.base, CLIENT, SECRET);
    let verifier = follower(&app, feed);
    let _feed = verifier.spawn_revocation_feed().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let example = listener.local_addr().unwrap();
    let api = latchkey_example_api::app(verifier);
    tokio::spawn(async move { axum::serve(listener, api).await });
    let whoami = format!("http://{example}/whoami");
    let pair = app.token_user("alice").await;
    let call = || app.client.get(&whoami).bearer_auth(&pair.access).send();
    let mut ready = false;
    for _ in 0..500 {
        if call().await.unwrap().status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        ready,
        "the example API accepts the token once the feed answers"
    );
    app.revoke_token(&pair.access).await;
    let mut refused = false;
    let revoked_at = std::time::Instant::now();
    while revoked_at.elapsed() < Duration::from_millis(100) {
        if call().await.unwrap().status() == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        refused,
        "the revoked token is refused while verifying locally"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_streams_as_server_sent_events() {
    let app = app().await;
    let start = app.send(feed(&app, "")).await.json()["next"]
        .as_i64()
        .unwrap();
    let alice = app.user("alice").await;
    let mut stream = feed(&app, &format!("?after={start}"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let r = app
        .send(app.post("/v1/session/logout").authed(&alice))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let mut text = String::new();
    let read = async {
        while !text.contains("\n\n") || !text.contains("data:") {
            let chunk = stream.chunk().await.unwrap().expect("the stream goes on");
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("an event arrives");
    assert!(text.contains("event: revocations"), "{text}");
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let batch: Value = serde_json::from_str(data).unwrap();
    assert_eq!(batch["entries"][0]["kind"], "sid", "{batch}");
    assert!(batch["next"].as_i64().unwrap() > start);
}
