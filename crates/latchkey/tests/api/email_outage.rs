//! The outbox under an SMTP outage: requests never wait on the server, and
//! a message queued while it is down is sent once it is back.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::email_helpers::{SmtpPeer, recipient, smtp_enabled};
use crate::helpers::{RequestExt as _, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_queued_while_smtp_is_down_is_sent_when_it_returns() {
    if !smtp_enabled() {
        return;
    }
    let mut peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    let login = app.user("alice").await;
    peer.stop();
    // The answer does not wait on the SMTP server: it is 202 while the
    // server is unreachable.
    let r = app
        .send(
            app.post("/v1/email")
                .authed(&login)
                .json(&json!({ "email": "alice@example.com" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    // The sender tries, fails, and keeps the message for a retry.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = app.send(app.get("/metrics")).await.body;
        if metrics.contains("latchkey_emails_total{outcome=\"retry\"}") {
            break;
        }
        assert!(Instant::now() < deadline, "no retry recorded: {metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counts = app.state.store().outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.sent), (1, 0));
    // Back up; once the back-off has passed, the message goes out.
    peer.resume();
    app.advance(Duration::from_secs(60));
    let m = peer.nth(1).await;
    assert_eq!(recipient(&m), "alice@example.com");
    let counts = app.state.store().outbox_counts().await.unwrap();
    assert_eq!(counts.pending + counts.sent, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_master_key_a_waiting_message_holds_no_link_in_the_clear() {
    if !smtp_enabled() {
        return;
    }
    let mut peer = SmtpPeer::start();
    let configure = peer.configure();
    let app = TestApp::spawn_with(move |cfg| {
        configure(cfg);
        cfg.http.sealing = Some(latchkey_auth::SealingKey::new(zeroize_key()));
    })
    .await;
    peer.stop();
    let r = app.register_with_email("alice", "alice@example.com").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // What a copy of the database shows of the waiting message.
    use sqlx::Row as _;
    let pool = sqlx::SqlitePool::connect(&app.config.database_url)
        .await
        .unwrap();
    let row = sqlx::query("SELECT subject, text_body, html_body, sealed FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    let sealed: bool = row.get("sealed");
    assert!(sealed);
    for col in ["subject", "text_body", "html_body"] {
        let v: String = row.get(col);
        assert!(!v.contains("token=") && !v.contains("alice"), "{col}: {v}");
    }
    pool.close().await;
    peer.resume();
    app.advance(Duration::from_secs(60));
    let m = peer.nth(1).await;
    assert_eq!(m["subject"], "Confirm your e-mail address");
    let token = crate::email_helpers::link_token(&m);
    assert_eq!(app.verify_link(&token).await.status, StatusCode::NO_CONTENT);
}

fn zeroize_key() -> zeroize::Zeroizing<[u8; 32]> {
    zeroize::Zeroizing::new([7; 32])
}
