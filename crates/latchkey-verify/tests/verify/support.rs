//! A faithful peer for the verifier: latchkey's JWKS document (made by
//! `latchkey_tokens::KeySet::jwks`, the code latchkey serves it with) and
//! an RFC 7662 introspection endpoint, on 127.0.0.1:0, with switches to
//! make them fail and counters of the requests they received. Plus a clock
//! the tests move, and token helpers.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::signature::Ed25519KeyPair;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_tokens::{AccessClaims, Algorithm, KeyMaterial, KeySet, Kid};
use latchkey_verify::{Clock, Introspection, LatchkeyVerifier, VerifierConfig};
use serde_json::{Value, json};

/// The fixed start of every test's clock: 2027-01-15T08:00:00Z.
pub const NOW: i64 = 1_800_000_000;
pub const AUDIENCE: &str = "orders-api";
pub const CLIENT_ID: &str = "orders-api";
pub const CLIENT_SECRET: &str = "introspection-secret";

/// How an endpoint of the peer behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Answers normally.
    Up,
    /// Answers this status with a problem body.
    Status(u16),
    /// Answers 200 with a body that is not JSON.
    Garbage,
    /// Never answers (until the client gives up).
    Hang,
}

/// What introspection says about any token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Active,
    Inactive,
    /// Active, but about a token with this other `jti`.
    ActiveWithJti(String),
}

struct Peer {
    keys: Mutex<KeySet>,
    jwks_mode: Mutex<Mode>,
    jwks_fetches: AtomicUsize,
    introspection_mode: Mutex<Mode>,
    answer: Mutex<Answer>,
    introspections: Mutex<Vec<(Option<String>, String)>>,
}

/// latchkey's JWKS and introspection, served from a `KeySet`.
#[derive(Clone)]
pub struct Latchkey {
    pub base: String,
    peer: Arc<Peer>,
}

impl Latchkey {
    /// A peer whose current key is a fresh Ed25519 key `kid-1`.
    pub async fn start() -> Self {
        Self::start_with(KeySet::new(key(Algorithm::EdDSA, "kid-1"))).await
    }

    pub async fn start_with(keys: KeySet) -> Self {
        let peer = Arc::new(Peer {
            keys: Mutex::new(keys),
            jwks_mode: Mutex::new(Mode::Up),
            jwks_fetches: AtomicUsize::new(0),
            introspection_mode: Mutex::new(Mode::Up),
            answer: Mutex::new(Answer::Active),
            introspections: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/.well-known/jwks.json", get(jwks))
            .route("/v1/token/introspect", post(introspect))
            .with_state(Arc::clone(&peer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, peer }
    }

    /// Signs `claims` with the current key.
    pub fn sign(&self, claims: &AccessClaims) -> String {
        self.peer.keys.lock().unwrap().sign(claims).unwrap()
    }

    /// A token with latchkey's header edited by `edit`, correctly signed
    /// by the current (Ed25519) key.
    pub fn forge(&self, edit: impl FnOnce(&mut Value), claims: &AccessClaims) -> String {
        let keys = self.peer.keys.lock().unwrap();
        let mut header = header_for(keys.current());
        edit(&mut header);
        forge(
            keys.current(),
            &header,
            &serde_json::to_value(claims).unwrap(),
        )
    }

    /// A valid token at `now`.
    pub fn token(&self, now: i64) -> String {
        self.sign(&self.claims(now))
    }

    /// Claims latchkey would issue at `now`: 5 minutes of life.
    pub fn claims(&self, now: i64) -> AccessClaims {
        static JTI: AtomicUsize = AtomicUsize::new(0);
        AccessClaims {
            iss: self.base.clone(),
            sub: "user-1".into(),
            aud: AUDIENCE.into(),
            exp: now + 300,
            iat: now,
            nbf: None,
            jti: format!("jti-{}", JTI.fetch_add(1, Ordering::Relaxed)),
            sid: "sid-1".into(),
            amr: Vec::new(),
            auth_time: None,
            groups: Vec::new(),
        }
    }

    /// `latchkey keys rotate`: `next` signs from now on, the old key stays
    /// published (and valid until `retire_after`).
    pub fn rotate(&self, next: KeyMaterial, retire_after: i64) {
        self.peer
            .keys
            .lock()
            .unwrap()
            .rotate(next, retire_after)
            .unwrap();
    }

    /// Replaces the key set (e.g. to drop a key from the JWKS).
    pub fn replace_keys(&self, keys: KeySet) {
        *self.peer.keys.lock().unwrap() = keys;
    }

    pub fn set_jwks_mode(&self, mode: Mode) {
        *self.peer.jwks_mode.lock().unwrap() = mode;
    }

    pub fn set_introspection_mode(&self, mode: Mode) {
        *self.peer.introspection_mode.lock().unwrap() = mode;
    }

    pub fn set_answer(&self, answer: Answer) {
        *self.peer.answer.lock().unwrap() = answer;
    }

    /// How many JWKS requests arrived.
    pub fn jwks_fetches(&self) -> usize {
        self.peer.jwks_fetches.load(Ordering::SeqCst)
    }

    /// The introspection requests received: `Authorization` header and
    /// the form body.
    pub fn introspections(&self) -> Vec<(Option<String>, String)> {
        self.peer.introspections.lock().unwrap().clone()
    }

    /// The verifier configuration for this peer.
    pub fn config(&self) -> VerifierConfig {
        VerifierConfig::for_latchkey(&self.base, AUDIENCE)
    }

    /// The same, asking this peer's introspection.
    pub fn config_with_introspection(&self) -> VerifierConfig {
        self.config()
            .with_introspection(Introspection::for_latchkey(
                &self.base,
                CLIENT_ID,
                CLIENT_SECRET,
            ))
    }
}

async fn failure(mode: Mode) -> Option<Response> {
    match mode {
        Mode::Up => None,
        Mode::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap();
            Some((status, "{\"code\":\"failure\"}").into_response())
        }
        Mode::Garbage => Some((StatusCode::OK, "<html>not json</html>").into_response()),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            None
        }
    }
}

async fn jwks(State(peer): State<Arc<Peer>>) -> Response {
    peer.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let mode = *peer.jwks_mode.lock().unwrap();
    if let Some(response) = failure(mode).await {
        return response;
    }
    let document = peer.keys.lock().unwrap().jwks();
    axum::Json(document).into_response()
}

async fn introspect(State(peer): State<Arc<Peer>>, headers: HeaderMap, body: String) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_owned());
    peer.introspections
        .lock()
        .unwrap()
        .push((authorization, body));
    let mode = *peer.introspection_mode.lock().unwrap();
    if let Some(response) = failure(mode).await {
        return response;
    }
    let answer = peer.answer.lock().unwrap().clone();
    let body = match answer {
        Answer::Active => json!({"active": true, "sub": "user-1", "token_type": "Bearer"}),
        Answer::Inactive => json!({"active": false}),
        Answer::ActiveWithJti(jti) => json!({"active": true, "jti": jti}),
    };
    axum::Json(body).into_response()
}

/// A fresh key.
pub fn key(alg: Algorithm, kid: &str) -> KeyMaterial {
    KeyMaterial::generate(alg, Kid::parse(kid).unwrap()).unwrap()
}

/// A clock the test moves.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn at(now: i64) -> Self {
        Self(Arc::new(AtomicI64::new(now)))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    pub fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Arc::new(move || now.load(Ordering::SeqCst))
    }
}

/// A verifier for `config` on `clock`.
pub fn verifier(config: VerifierConfig, clock: &TestClock) -> LatchkeyVerifier {
    LatchkeyVerifier::with_clock(config, clock.clock()).unwrap()
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with exactly this header and payload, signed with the Ed25519
/// `key` (so only the edited part is wrong).
pub fn forge(key: &KeyMaterial, header: &Value, payload: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(payload.to_string()));
    let pair = Ed25519KeyPair::from_pkcs8(&key.to_stored().private).unwrap();
    format!("{input}.{}", b64(pair.sign(input.as_bytes())))
}

/// latchkey's header for `key`.
pub fn header_for(key: &KeyMaterial) -> Value {
    json!({"alg": key.algorithm().as_str(), "kid": key.kid().as_str(), "typ": "at+jwt"})
}
