//! The account page's "Linked sign-ins" card unlinks an identity with a
//! plain form, and refuses, with the reason at the top, to unlink an
//! account's last way in. Against the real provider (`oidc_peer`).

use reqwest::header;

use crate::mfa_pages::hidden;
use crate::oidc::{app_with, signed_in};
use crate::oidc_peer::{Browser, Peer, callback, enabled};

/// The unlink form's action on the account page `body`.
fn unlink_action(body: &str) -> String {
    let at = body.find("/account/identities/").expect("an unlink form");
    body[at..].split('"').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn oidc_the_account_page_unlinks_an_identity_but_never_the_last_way_in() {
    if !enabled() {
        return;
    }
    let peer = Peer::start(None).await;
    let app = app_with(&peer).await;
    let session = signed_in(&app, &peer, "sub-page-only").await;
    let only = format!("{}={session}", app.cookie_name);
    let page = app
        .send(app.get("/account").header(header::COOKIE, &only))
        .await;
    let form = [("csrf_token", hidden(&page.body, "csrf_token"))];
    let r = app
        .send(
            app.post(&unlink_action(&page.body))
                .header(header::COOKIE, &only)
                .form(&form),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("last way in"), "{}", r.body);

    // An account with a password unlinks its identity from the page.
    let carol = app.user("carol").await;
    peer.next_login("sub-carol-page", "someone").await;
    let mut browser = Browser::default();
    let cb = browser.sign_in(&app, "", Some(&carol.cookie)).await;
    assert_eq!(callback(&app, &cb, cb.binding.as_deref()).await.status, 200);
    let mine = format!("{}={}", app.cookie_name, carol.cookie);
    let page = app
        .send(app.get("/account").header(header::COOKIE, &mine))
        .await;
    let form = [("csrf_token", hidden(&page.body, "csrf_token"))];
    let r = app
        .send(
            app.post(&unlink_action(&page.body))
                .header(header::COOKIE, &mine)
                .form(&form),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/account?notice=unlinked"));
    let list = app
        .send(app.get("/v1/identities").header(header::COOKIE, &mine))
        .await;
    assert_eq!(list.json()["identities"].as_array().map(Vec::len), Some(0));
}
