//! A provider's keys rotate: a token with a `kid` latchkey has not seen
//! makes it fetch the JWKS again, once for a burst, and made-up `kid`s
//! cost at most one fetch per interval. The provider is a few lines of
//! HTTP on loopback serving discovery and a JWKS the test swaps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_oidc::{Http, OidcError, Provider, ProviderConfig, Refusal, check};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

const NOW: i64 = 1_800_000_000;

struct Key {
    pkcs8: Vec<u8>,
    jwk: Value,
}

fn key(kid: &str) -> Key {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
                     "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
    Key {
        pkcs8: pkcs8.as_ref().to_vec(),
        jwk,
    }
}

struct Idp {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_fetches: Arc<AtomicUsize>,
}

async fn idp() -> Idp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let keys = Arc::new(Mutex::new(Vec::new()));
    let jwks_fetches = Arc::new(AtomicUsize::new(0));
    let (iss, k, n) = (issuer.clone(), keys.clone(), jwks_fetches.clone());
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let len = sock.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..len]).to_string();
            let body = if head.starts_with("GET /jwks ") {
                n.fetch_add(1, Ordering::SeqCst);
                json!({ "keys": *k.lock().unwrap() })
            } else {
                json!({"issuer": iss, "authorization_endpoint": format!("{iss}/auth"),
                       "token_endpoint": format!("{iss}/token"), "jwks_uri": format!("{iss}/jwks"),
                       "response_types_supported": ["code"], "subject_types_supported": ["public"],
                       "id_token_signing_alg_values_supported": ["EdDSA"]})
            }
            .to_string();
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    Idp {
        issuer,
        keys,
        jwks_fetches,
    }
}

fn logout(k: &Key, kid: &str, issuer: &str, jti: &str) -> String {
    let claims = json!({"iss": issuer, "aud": "latchkey", "sub": "u", "iat": NOW, "exp": NOW + 60,
                        "jti": jti, "events": {check::BACKCHANNEL_LOGOUT_EVENT: {}}});
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&k.pkcs8)).unwrap()
}

fn provider(issuer: &str) -> Provider {
    let config = ProviderConfig {
        name: "idp".into(),
        issuer: issuer.into(),
        client_id: "latchkey".into(),
        client_secret: None,
        display_name: "IdP".into(),
        scopes: vec!["openid".into()],
        username_claim: "preferred_username".into(),
        email_claim: "email".into(),
    };
    let http = Http::new(Duration::from_secs(5)).unwrap();
    Provider::new(config, "http://127.0.0.1:1/v1/oidc/idp/callback", http).unwrap()
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_made_up_kids_are_rate_limited() {
    let idp = idp().await;
    let (k1, k2) = (key("k1"), key("k2"));
    idp.keys.lock().unwrap().push(k1.jwk.clone());
    let p = provider(&idp.issuer);
    assert!(!p.is_available());
    p.discover().await.unwrap();
    assert!(p.is_available());
    assert_eq!(idp.jwks_fetches.load(Ordering::SeqCst), 1);
    p.logout_token(&logout(&k1, "k1", &idp.issuer, "a"), NOW)
        .await
        .unwrap();
    assert_eq!(
        idp.jwks_fetches.load(Ordering::SeqCst),
        1,
        "a known kid needs no fetch"
    );
    // The provider rotates to k2: a burst of its tokens makes one fetch.
    idp.keys.lock().unwrap().push(k2.jwk.clone());
    let burst = (0..8).map(|i| {
        let token = logout(&k2, "k2", &idp.issuer, &format!("b{i}"));
        let p = &p;
        async move { p.logout_token(&token, NOW).await }
    });
    for result in futures_join(burst).await {
        result.unwrap();
    }
    assert_eq!(
        idp.jwks_fetches.load(Ordering::SeqCst),
        2,
        "one fetch for the burst"
    );
    // Made-up kids within the interval: refused, and no fetch.
    for i in 0..5 {
        let forged = logout(&key("k9"), "k9", &idp.issuer, &format!("f{i}"));
        let r = p.logout_token(&forged, NOW + 1).await;
        assert!(
            matches!(r, Err(OidcError::Token(Refusal::NoMatchingKey))),
            "{r:?}"
        );
    }
    assert_eq!(idp.jwks_fetches.load(Ordering::SeqCst), 2, "rate limited");
    // After the interval, one more fetch is allowed.
    let forged = logout(&key("k9"), "k9", &idp.issuer, "g");
    let later = NOW + latchkey_oidc::REFETCH_MIN_INTERVAL + 1;
    assert!(p.logout_token(&forged, later).await.is_err());
    assert_eq!(idp.jwks_fetches.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable_not_fatal() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let p = provider(&issuer);
    assert!(matches!(p.discover().await, Err(OidcError::Unavailable)));
    assert!(!p.is_available());
    assert!(matches!(p.authorize(), Err(OidcError::Unavailable)));
}

async fn futures_join<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.map(Box::pin).collect();
    let mut out = Vec::new();
    // Poll them together: all start before any fetch completes.
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *result = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().map(|r| r.unwrap()));
    out
}
