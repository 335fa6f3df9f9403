//! Password reset by e-mail against a real SMTP server.

use reqwest::StatusCode;
use serde_json::json;

use crate::email_helpers::{SmtpPeer, link_token, recipient, smtp_enabled};
use crate::helpers::{PASSWORD, RequestExt as _, TestApp, assert_problem};

const NEW_PASSWORD: &str = "a-brand-new-passphrase";

async fn reset(app: &TestApp, token: &str, new_password: &str) -> crate::helpers::Reply {
    app.secret(token);
    let body = json!({ "token": token, "new_password": new_password });
    app.send(app.post("/v1/password/reset").json(&body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_works_once_and_ends_every_session_and_token() {
    if !smtp_enabled() {
        return;
    }
    let peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    app.verified_user(&peer, 1, "alice", "alice@example.com")
        .await;
    let session = app.login("alice", PASSWORD, true).await;
    let pair = app.token_login("alice", PASSWORD).await;
    let hybrid = app.hybrid_login("alice", PASSWORD).await;

    assert_eq!(
        app.forgot("alice@example.com").await.status,
        StatusCode::ACCEPTED
    );
    let m = peer.nth(2).await;
    assert_eq!(recipient(&m), "alice@example.com");
    assert!(m["text"].as_str().unwrap().contains("/reset?token="));
    let token = link_token(&m);
    // A password the policy refuses leaves the link usable.
    assert_problem(&reset(&app, &token, "alice").await, 422, "invalid_password");
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status,
        StatusCode::NO_CONTENT
    );
    // Single use.
    assert_problem(
        &reset(&app, &token, "yet-another-passphrase").await,
        401,
        "invalid_link",
    );

    // Every session, refresh family and access token of the user ended.
    assert_eq!(app.session_status(&session).await, StatusCode::UNAUTHORIZED);
    app.assert_bearer_refused(&pair.access).await;
    assert_eq!(
        app.refresh_attempt(&pair.refresh).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .send(app.get("/v1/me").raw_cookie("__Host-lk_at", &hybrid.access))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    // The old password is refused, the new one works.
    assert_problem(
        &app.login_attempt("alice", PASSWORD).await,
        401,
        "invalid_credentials",
    );
    app.login("alice", NEW_PASSWORD, false).await;
    // And a notice went to the address.
    let notice = peer.nth(3).await;
    assert_eq!(recipient(&notice), "alice@example.com");
    assert_eq!(notice["subject"], "Your password was reset");
    app.assert_no_secret_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_address_gets_no_mail_and_the_same_answer() {
    if !smtp_enabled() {
        return;
    }
    let peer = SmtpPeer::start();
    let app = TestApp::spawn_with(peer.configure()).await;
    app.verified_user(&peer, 1, "alice", "alice@example.com")
        .await;
    // An unverified address is no way back either.
    let r = app.register_with_email("bob", "bob@example.com").await;
    assert_eq!(r.status, StatusCode::CREATED);
    peer.wait_for(2).await;

    let unknown = app.forgot("nobody@example.com").await;
    let unverified = app.forgot("bob@example.com").await;
    let known = app.forgot("alice@example.com").await;
    for r in [&unknown, &unverified] {
        assert_eq!(
            (r.status, r.body.as_str()),
            (known.status, known.body.as_str())
        );
        assert_eq!(
            r.headers.get("content-type"),
            known.headers.get("content-type")
        );
    }
    assert_eq!(known.status, StatusCode::ACCEPTED);
    // Jobs run in order on one worker: once the known address's link has
    // arrived, the two before it were looked at and sent nothing.
    let got = peer.wait_for(3).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(recipient(&got[2]), "alice@example.com");
    let counts = app.state.store().outbox_counts().await.unwrap();
    assert_eq!(counts.pending + counts.sent + counts.failed, 3);
    // A malformed address is refused before anything happens.
    assert_problem(&app.forgot("no at sign").await, 422, "invalid_email");
}
