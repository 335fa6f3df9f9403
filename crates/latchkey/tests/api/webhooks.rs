//! Webhooks (ADMIN.md, "Webhooks"): audit events POSTed, signed, to real
//! receivers on loopback — one in this test, and the documented Python
//! receiver — from the delivery outbox: only the types subscribed to,
//! retried with the same delivery id while a receiver is down or fails,
//! refused by a receiver that holds another secret.

use std::time::{Duration, Instant, SystemTime};

use latchkey_core::Timestamp;
use latchkey_store::{EventQuery, MailState, WebhookDelivery};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin::admin_key;
use crate::helpers::*;
use crate::webhook_helpers::*;

/// The deliveries of the events of type `kind`, oldest event first.
async fn deliveries(app: &TestApp, kind: &str) -> Vec<WebhookDelivery> {
    let store = app.state.store();
    let query = EventQuery {
        kind: Some(kind),
        limit: 100,
        ..EventQuery::default()
    };
    let mut out = Vec::new();
    for e in store.events(query).await.unwrap() {
        out.extend(store.webhook_deliveries(e.id).await.unwrap());
    }
    out
}

/// Waits (boundedly) until the only delivery of `kind` satisfies `done`.
async fn delivery_when(
    app: &TestApp,
    kind: &str,
    done: impl Fn(&WebhookDelivery) -> bool,
) -> WebhookDelivery {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = deliveries(app, kind).await;
        if let [d] = &found[..]
            && done(d)
        {
            return d.clone();
        }
        assert!(Instant::now() < deadline, "delivery of {kind}: {found:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn retried_after(error: &'static str) -> impl Fn(&WebhookDelivery) -> bool {
    move |d| {
        d.attempts == 1
            && d.last_error
                .as_deref()
                .is_some_and(|e| e.starts_with(error))
    }
}

/// One wrong password for an unknown account: one `login.failed` event.
async fn failed_sign_in(app: &TestApp) {
    let r = app.login_attempt("nobody", "not-the-password").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}

async fn disable(app: &TestApp, key: &str, user_id: &str) {
    let r = app
        .send(
            app.request(
                reqwest::Method::PATCH,
                &format!("/admin/v1/users/{user_id}"),
            )
            .bearer(key)
            .json(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn a_receiver_gets_the_events_it_subscribes_to_signed_and_as_the_admin_api_lists_them() {
    let receiver = Receiver::start(SECRET).await;
    let url = receiver.url();
    let app = TestApp::spawn_with(move |cfg| {
        configure(
            cfg,
            &[("siem", url.clone(), &["login.succeeded", "user.*"])],
        );
    })
    .await;
    let key = admin_key(&app, "ops", &[]).await;
    let alice = app.user("alice").await;
    let wrong = app.login_attempt("alice", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    disable(&app, &key, &alice.user_id).await;

    let r = app.send(app.get("/admin/v1/events").bearer(&key)).await;
    let listed = r.json()["events"].as_array().unwrap().clone();
    let types: Vec<&str> = listed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"login.failed"), "{types:?}");
    let (wanted, unwanted): (Vec<Value>, Vec<Value>) = listed
        .into_iter()
        .partition(|e| e["type"] == "login.succeeded" || e["type"] == "user.disabled");
    let wanted_types: Vec<&str> = wanted.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(
        wanted_types.contains(&"login.succeeded") && wanted_types.contains(&"user.disabled"),
        "{wanted_types:?}"
    );
    let mut got = receiver.wait_for(wanted.len()).await;
    got.sort_by_key(|r| r.body["id"].as_i64());
    for (received, listed) in got.iter().zip(&wanted) {
        assert!(
            received.valid,
            "signed with the webhook's secret: {received:?}"
        );
        assert_eq!(received.signature.len(), "v1=".len() + 64, "{received:?}");
        assert_eq!(received.timestamp, START.unix_seconds());
        let mut body = received.body.clone();
        assert_eq!(body["webhook"], "siem");
        body.as_object_mut().unwrap().remove("webhook");
        assert_eq!(&body, listed, "the payload is the listed event");
    }
    let mut ids: Vec<_> = got.iter().map(|r| r.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), wanted.len(), "one delivery id per event");
    // Types not subscribed to are never queued, so never sent.
    for e in unwanted {
        let id = e["id"].as_i64().unwrap();
        let queued = app.state.store().webhook_deliveries(id).await.unwrap();
        assert!(queued.is_empty(), "{} was queued: {queued:?}", e["type"]);
    }
    let sent = delivery_when(&app, "user.disabled", |d| d.state == MailState::Sent).await;
    assert_eq!(sent.attempts, 1);
    assert_eq!(receiver.received().len(), wanted.len());
}

#[tokio::test]
async fn a_receiver_that_holds_another_secret_refuses_and_the_delivery_waits_for_a_retry() {
    let receiver = Receiver::start("another-secret-0123456789abcdef01234567").await;
    let url = receiver.url();
    let app =
        TestApp::spawn_with(move |cfg| configure(cfg, &[("crm", url.clone(), &["login.*"])])).await;
    failed_sign_in(&app).await;
    let got = receiver.wait_for(1).await;
    assert!(
        !got[0].valid,
        "the signature must not verify under another secret"
    );
    let d = delivery_when(&app, "login.failed", retried_after("HTTP 401")).await;
    assert_eq!(d.state, MailState::Pending);
    assert_eq!(
        d.next_attempt_at,
        START.saturating_add(Duration::from_secs(5))
    );
    assert_eq!(d.id, got[0].id);
}

#[tokio::test]
async fn a_receiver_that_answers_500_gets_the_event_again_with_the_same_delivery_id() {
    let receiver = Receiver::start(SECRET).await;
    receiver.answer(500);
    let url = receiver.url();
    let app =
        TestApp::spawn_with(move |cfg| configure(cfg, &[("crm", url.clone(), &["login.*"])])).await;
    failed_sign_in(&app).await;
    receiver.wait_for(1).await;
    delivery_when(&app, "login.failed", retried_after("HTTP 500")).await;
    receiver.answer(204);
    // Not before its back-off (5 s on the test's clock) …
    app.advance(Duration::from_secs(4));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);
    // … and then at once.
    app.advance(Duration::from_secs(1));
    let got = receiver.wait_for(2).await;
    assert_eq!(got[0].id, got[1].id, "the same delivery id on every try");
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(got[1].timestamp, got[0].timestamp + 5, "this try's time");
    assert!(got[1].valid);
    let d = delivery_when(&app, "login.failed", |d| d.state == MailState::Sent).await;
    assert_eq!(d.attempts, 2);
    let metrics = app.send(app.get("/metrics")).await;
    for line in [
        r#"latchkey_webhooks_total{webhook="crm",outcome="retry"} 1"#,
        r#"latchkey_webhooks_total{webhook="crm",outcome="sent"} 1"#,
    ] {
        assert!(metrics.body.contains(line), "{line} in {}", metrics.body);
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_event_once_it_is_up() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let app = TestApp::spawn_with(move |cfg| configure(cfg, &[("crm", url.clone(), &["*"])])).await;
    failed_sign_in(&app).await;
    let queued = delivery_when(&app, "login.failed", retried_after("connection failed")).await;
    let receiver = Receiver::start_on(port, SECRET).await;
    app.advance(Duration::from_secs(5));
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].id, queued.id);
    assert!(got[0].valid);
    assert_eq!(got[0].body["type"], "login.failed");
}

/// The receiver ADMIN.md shows, run as written: it takes a delivery signed
/// with its secret, refuses one signed with another, and refuses a
/// correctly signed request replayed after its 5-minute window.
#[tokio::test]
async fn the_documented_receiver_verifies_signatures_and_refuses_replays() {
    let good = PythonReceiver::start(SECRET);
    let bad = PythonReceiver::start("another-secret-0123456789abcdef01234567");
    let (good_url, bad_url) = (good.url(), bad.url());
    let app = TestApp::spawn_with(move |cfg| {
        configure(
            cfg,
            &[
                ("good", good_url.clone(), &["login.failed"]),
                ("bad", bad_url.clone(), &["login.failed"]),
            ],
        );
    })
    .await;
    // The receiver checks the timestamp against the real time.
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let now = Timestamp::from_unix_millis(i64::try_from(now.as_millis()).unwrap());
    app.clock.set(now);
    failed_sign_in(&app).await;
    let handled = good.wait_for(1).await;
    assert_eq!(handled[0]["event"]["type"], "login.failed");
    assert_eq!(handled[0]["event"]["webhook"], "good");
    let all = deliveries(&app, "login.failed").await;
    let to_good = all.iter().find(|d| d.webhook == "good").unwrap();
    assert_eq!(handled[0]["delivery"], to_good.id.as_str());
    let to_bad = delivery_when_named(&app, "bad", retried_after("HTTP 401")).await;
    assert!(bad.handled().is_empty());
    assert_eq!(to_bad.state, MailState::Pending);

    // A valid request, replayed six minutes later.
    let body = br#"{"type":"login.succeeded"}"#;
    let client = reqwest::Client::new();
    for (age, expected) in [(0, 204), (360, 401)] {
        let at = now.unix_seconds() - age;
        let r = client
            .post(good.url())
            .header("Latchkey-Webhook-Id", format!("replay-{age}"))
            .header("Latchkey-Timestamp", at.to_string())
            .header(
                "Latchkey-Signature",
                latchkey::webhooks::signature(SECRET.as_bytes(), at, body),
            )
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), expected, "a request {age} s old");
    }
}

async fn delivery_when_named(
    app: &TestApp,
    webhook: &str,
    done: impl Fn(&WebhookDelivery) -> bool,
) -> WebhookDelivery {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = deliveries(app, "login.failed").await;
        if let Some(d) = all.iter().find(|d| d.webhook == webhook && done(d)) {
            return d.clone();
        }
        assert!(Instant::now() < deadline, "delivery to {webhook}: {all:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn the_admin_guide_shows_the_tested_receiver_verbatim() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let block = format!("```python\n{}```\n", read("docs/webhooks/receiver.py"));
    assert!(
        read("docs/ADMIN.md").contains(&block),
        "ADMIN.md must show docs/webhooks/receiver.py as it is"
    );
}
