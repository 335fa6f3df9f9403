//! Introspection: asked after the local checks pass; only
//! `{"active":true}` is accepted; anything else, including silence,
//! refuses the token.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use latchkey_tokens::TokenError;
use latchkey_verify::{FetchError, Introspection, VerifyError};

use crate::support::{Answer, CLIENT_ID, CLIENT_SECRET, Latchkey, Mode, NOW, TestClock, verifier};

#[tokio::test]
async fn an_active_token_is_accepted_after_asking_with_client_credentials() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config_with_introspection(), &clock);
    let token = latchkey.token(NOW);
    verifier.verify(&token).await.unwrap();

    let asked = latchkey.introspections();
    assert_eq!(asked.len(), 1);
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    assert_eq!(asked[0].0.as_deref(), Some(basic.as_str()));
    assert_eq!(asked[0].1, format!("token={token}"));
}

#[tokio::test]
async fn an_inactive_token_is_refused() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config_with_introspection(), &clock);
    latchkey.set_answer(Answer::Inactive);
    let result = verifier.verify(&latchkey.token(NOW)).await;
    assert_eq!(result, Err(VerifyError::Inactive));
}

#[tokio::test]
async fn an_answer_about_another_token_is_refused() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config_with_introspection(), &clock);
    latchkey.set_answer(Answer::ActiveWithJti("someone-else".into()));
    let result = verifier.verify(&latchkey.token(NOW)).await;
    assert_eq!(result, Err(VerifyError::Inactive));
}

#[tokio::test]
async fn tokens_refused_locally_are_never_sent_to_introspection() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW + 300);
    let verifier = verifier(latchkey.config_with_introspection(), &clock);
    let expired = latchkey.token(NOW);
    let result = verifier.verify(&expired).await;
    assert_eq!(result, Err(VerifyError::Token(TokenError::Expired)));
    assert!(verifier.verify("not.a.token").await.is_err());
    assert!(latchkey.introspections().is_empty());
}

#[tokio::test]
async fn when_introspection_is_down_tokens_are_refused() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    // Nothing listens on a port just released.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url = format!("http://{closed}/v1/token/introspect");
    let config =
        latchkey
            .config()
            .with_introspection(Introspection::new(url, CLIENT_ID, CLIENT_SECRET));
    let verifier = verifier(config, &clock);
    let result = verifier.verify(&latchkey.token(NOW)).await;
    assert!(
        matches!(
            result,
            Err(VerifyError::IntrospectionFailed(FetchError::Request(_)))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn introspection_errors_and_nonsense_refuse_the_token() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let verifier = verifier(latchkey.config_with_introspection(), &clock);
    for (mode, expected) in [
        (Mode::Status(401), FetchError::Status(401)),
        (Mode::Status(500), FetchError::Status(500)),
        (Mode::Garbage, FetchError::NotJson),
    ] {
        latchkey.set_introspection_mode(mode);
        let result = verifier.verify(&latchkey.token(NOW)).await;
        assert_eq!(
            result,
            Err(VerifyError::IntrospectionFailed(expected)),
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_introspection_refuses_the_token_after_its_timeout() {
    let latchkey = Latchkey::start().await;
    let clock = TestClock::at(NOW);
    let mut introspection = Introspection::for_latchkey(&latchkey.base, CLIENT_ID, CLIENT_SECRET);
    introspection.timeout = Duration::from_millis(200);
    let verifier = verifier(latchkey.config().with_introspection(introspection), &clock);
    verifier.refresh().await.unwrap();
    latchkey.set_introspection_mode(Mode::Hang);
    let started = std::time::Instant::now();
    let result = verifier.verify(&latchkey.token(NOW)).await;
    assert!(
        matches!(result, Err(VerifyError::IntrospectionFailed(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}
