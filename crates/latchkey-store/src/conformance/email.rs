//! Conformance cases: addresses, e-mail tokens and codes, the outbox.

use super::*;
use crate::{Address, CodeTry, Delivery, EmailToken, Mail, MailState, TokenKind};

fn addr(email: &str, verified: bool) -> Address {
    Address {
        email: email.into(),
        verified,
    }
}

fn token(u: &User, kind: TokenKind, expires_ms: i64) -> EmailToken {
    EmailToken {
        kind,
        user_id: u.id,
        email: "alice@example.com".into(),
        attempts: 0,
        created_at: t(0),
        expires_at: t(expires_ms),
    }
}

fn mail(id: &str, due_ms: i64) -> Mail {
    Mail {
        id: id.into(),
        to: "alice@example.com".into(),
        subject: "Hello".into(),
        text: "a link".into(),
        html: "<p>a link</p>".into(),
        sealed: false,
        attempts: 0,
        next_attempt_at: t(due_ms),
        state: MailState::Pending,
        last_error: None,
        created_at: t(0),
    }
}

pub async fn email_addresses_are_unique_by_domain_case_and_kept_as_entered(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    assert_eq!(store.address_of(alice.id).await.unwrap(), None);
    let entered = addr("Alice@Example.COM", false);
    assert!(store.set_address(alice.id, Some(&entered)).await.unwrap());
    assert_eq!(
        store.address_of(alice.id).await.unwrap(),
        Some(entered.clone())
    );
    // The domain's case does not make another address; the local part's does.
    let same = store
        .set_address(bob.id, Some(&addr("Alice@example.com", false)))
        .await;
    assert!(
        matches!(same, Err(StoreError::Conflict("email taken"))),
        "{same:?}"
    );
    assert!(
        store
            .set_address(bob.id, Some(&addr("alice@example.com", false)))
            .await
            .unwrap()
    );
    let (found, a) = store
        .user_by_address("Alice@EXAMPLE.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, a), (alice.id, entered));
    // Verification applies only to the address it was sent to.
    assert!(
        !store
            .mark_address_verified(alice.id, "old@example.com")
            .await
            .unwrap()
    );
    assert!(
        store
            .mark_address_verified(alice.id, "Alice@Example.COM")
            .await
            .unwrap()
    );
    assert!(store.address_of(alice.id).await.unwrap().unwrap().verified);
    // Removing frees it.
    assert!(store.set_address(alice.id, None).await.unwrap());
    assert_eq!(
        store.user_by_address("Alice@example.com").await.unwrap(),
        None
    );
    let unknown = UserId::from_random(seed(9));
    assert!(!store.set_address(unknown, None).await.unwrap());
}

pub async fn email_a_user_created_with_a_taken_address_is_not_stored(store: &dyn Store) {
    user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    store
        .set_address(bob.id, Some(&addr("b@example.com", true)))
        .await
        .unwrap();
    let mut carol = bob.clone();
    carol.id = UserId::from_random(seed(3));
    carol.username = Username::parse("carol").unwrap();
    let taken = store
        .create_user_with_address(&carol, &addr("b@EXAMPLE.com", false))
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict("email taken"))),
        "{taken:?}"
    );
    assert_eq!(store.user_by_id(carol.id).await.unwrap(), None);
    let mut dup = carol.clone();
    dup.username = Username::parse("alice").unwrap();
    let name = store
        .create_user_with_address(&dup, &addr("c@example.com", false))
        .await;
    assert!(
        matches!(name, Err(StoreError::Conflict("username taken"))),
        "{name:?}"
    );
    store
        .create_user_with_address(&carol, &addr("c@example.com", false))
        .await
        .unwrap();
    assert_eq!(
        store.address_of(carol.id).await.unwrap(),
        Some(addr("c@example.com", false))
    );
}

pub async fn email_tokens_are_taken_once_as_their_kind_before_expiry(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let reset = token(&alice, TokenKind::Reset, 1_000);
    store.put_email_token(&[1; 32], &reset).await.unwrap();
    let wrong_kind = store
        .take_email_token(&[1; 32], TokenKind::Verify, t(0))
        .await;
    assert_eq!(wrong_kind.unwrap(), None);
    let expired = store
        .take_email_token(&[1; 32], TokenKind::Reset, t(1_000))
        .await;
    assert_eq!(expired.unwrap(), None);
    let got = store
        .take_email_token(&[1; 32], TokenKind::Reset, t(999))
        .await;
    assert_eq!(got.unwrap(), Some(reset.clone()));
    assert_eq!(
        store
            .take_email_token(&[1; 32], TokenKind::Reset, t(1))
            .await
            .unwrap(),
        None
    );
    // A new token of a kind replaces the user's earlier one.
    store.put_email_token(&[2; 32], &reset).await.unwrap();
    store.put_email_token(&[3; 32], &reset).await.unwrap();
    store
        .put_email_token(&[4; 32], &token(&alice, TokenKind::Verify, 1_000))
        .await
        .unwrap();
    assert_eq!(
        store
            .take_email_token(&[2; 32], TokenKind::Reset, t(1))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .take_email_token(&[3; 32], TokenKind::Reset, t(1))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.sweep_email_tokens(t(1_000)).await.unwrap(), 1);
}

pub async fn email_concurrent_takes_of_a_token_yield_one(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    store
        .put_email_token(&[7; 32], &token(&alice, TokenKind::Reset, 60_000))
        .await
        .unwrap();
    let takes = (0..8).map(|_| store.take_email_token(&[7; 32], TokenKind::Reset, t(1)));
    let got = futures_join_all(takes)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .count();
    assert_eq!(got, 1);
    store
        .put_email_token(&[8; 32], &token(&alice, TokenKind::Code, 60_000))
        .await
        .unwrap();
    let tries = (0..8).map(|_| store.try_email_code(alice.id, &[8; 32], t(1), 5));
    let accepted = futures_join_all(tries)
        .await
        .into_iter()
        .filter(|r| matches!(r, Ok(CodeTry::Accepted(_))))
        .count();
    assert_eq!(accepted, 1);
}

/// Presents code hash `[n; 32]` of `u` at `t(at)`.
async fn try_code(store: &dyn Store, u: &User, n: u8, at: i64) -> CodeTry {
    store
        .try_email_code(u.id, &[n; 32], t(at), 5)
        .await
        .unwrap()
}

async fn put_code(store: &dyn Store, u: &User, n: u8, expires_ms: i64) {
    let code = token(u, TokenKind::Code, expires_ms);
    store.put_email_token(&[n; 32], &code).await.unwrap();
}

pub async fn email_codes_end_at_the_last_wrong_try(store: &dyn Store) {
    let alice = user(store, "alice", 1).await;
    let bob = user(store, "bob", 2).await;
    put_code(store, &alice, 1, 60_000).await;
    // Another user's code is not this user's.
    assert_eq!(try_code(store, &bob, 1, 1).await, CodeTry::Gone);
    for n in 1..=4 {
        assert_eq!(try_code(store, &alice, 9, 1).await, CodeTry::Wrong(n));
    }
    let right = try_code(store, &alice, 1, 1).await;
    assert!(
        matches!(right, CodeTry::Accepted(ref c) if c.user_id == alice.id),
        "{right:?}"
    );
    put_code(store, &alice, 2, 60_000).await;
    for n in 1..=5 {
        assert_eq!(try_code(store, &alice, 9, 1).await, CodeTry::Wrong(n));
    }
    // The fifth wrong try ended it: the right code no longer works.
    assert_eq!(try_code(store, &alice, 2, 1).await, CodeTry::Gone);
    put_code(store, &alice, 3, 100).await;
    assert_eq!(try_code(store, &alice, 3, 100).await, CodeTry::Gone);
}

pub async fn email_outbox_rows_are_claimed_once_and_finish(store: &dyn Store) {
    for (id, due) in [("m1", 0), ("m2", 10), ("m3", 5_000)] {
        store.enqueue_mail(&mail(id, due)).await.unwrap();
    }
    // Two senders claim at once: each due row goes to exactly one.
    let claims = (0..4).map(|_| store.claim_mail(t(100), t(60_100), 10));
    let mut ids: Vec<String> = futures_join_all(claims)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .map(|m| {
            assert_eq!(m.attempts, 1);
            m.id
        })
        .collect();
    ids.sort();
    assert_eq!(ids, ["m1", "m2"]);
    // Leased: not due again until the lease ends (a sender that died).
    assert!(
        store
            .claim_mail(t(200), t(60_200), 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .finish_mail("m1", &Delivery::Sent { at: t(300) })
        .await
        .unwrap();
    let retry = Delivery::Retry {
        next: t(1_000),
        error: "refused".into(),
    };
    store.finish_mail("m2", &retry).await.unwrap();
    let sent = store.mail("m1").await.unwrap().unwrap();
    assert_eq!(sent.state, MailState::Sent);
    assert!(sent.text.is_empty() && sent.html.is_empty());
    let again = store.claim_mail(t(5_000), t(65_000), 10).await.unwrap();
    let mut again: Vec<_> = again.into_iter().map(|m| (m.id, m.attempts)).collect();
    again.sort();
    assert_eq!(again, [("m2".to_owned(), 2), ("m3".to_owned(), 1)]);
    let failed = Delivery::Failed {
        at: t(5_001),
        error: "gave up".into(),
    };
    store.finish_mail("m2", &failed).await.unwrap();
    let m2 = store.mail("m2").await.unwrap().unwrap();
    assert_eq!(
        (m2.state, m2.last_error.as_deref()),
        (MailState::Failed, Some("gave up"))
    );
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.sent, counts.failed), (1, 1, 1));
    assert_eq!(store.sweep_mail(t(5_001)).await.unwrap(), 1);
    assert_eq!(store.mail("m1").await.unwrap(), None);
}
