//! Webhook receivers for the tests: a small axum server on loopback that
//! records every request and checks its signature with its own secret,
//! and the documented Python receiver (`docs/webhooks/receiver.py`).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use latchkey::config::Config;
use latchkey::outbox::Retries;
use latchkey::webhooks::{Webhook, WebhookSettings, signature};
use latchkey_auth::audit::Subscriptions;
use serde_json::Value;

/// A secret of the required length.
pub const SECRET: &str = "whsec-0123456789abcdef0123456789abcdef";
/// How long a delivery may take to arrive before a test fails.
const ARRIVAL: Duration = Duration::from_secs(20);

/// One request as a receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: Value,
    /// Whether the signature matched the receiver's secret.
    pub valid: bool,
}

#[derive(Clone)]
struct Shared {
    secret: String,
    received: Arc<Mutex<Vec<Received>>>,
    /// What a valid request is answered.
    status: Arc<AtomicU16>,
}

pub struct Receiver {
    pub port: u16,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver on a free port that verifies with `secret`.
    pub async fn start(secret: &str) -> Self {
        Self::start_on(0, secret).await
    }

    pub async fn start_on(port: u16, secret: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the receiver");
        let port = listener.local_addr().unwrap().port();
        let shared = Shared {
            secret: secret.to_owned(),
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(204)),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { port, shared, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Answer valid requests with `status` from now on.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits (boundedly) until `n` requests have arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{n} requests expected, got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let timestamp: i64 = header("latchkey-timestamp").parse().unwrap_or(-1);
    let sig = header("latchkey-signature");
    let valid = signature(s.secret.as_bytes(), timestamp, &body) == sig;
    s.received.lock().unwrap().push(Received {
        id: header("latchkey-webhook-id"),
        timestamp,
        signature: sig,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        valid,
    });
    if !valid {
        return StatusCode::UNAUTHORIZED;
    }
    StatusCode::from_u16(s.status.load(Ordering::SeqCst)).unwrap()
}

/// `[[webhooks]]` for `Config`: each `(name, url, events)` signed with
/// [`SECRET`]; retries from 5 s on the test's clock, a fast poll.
pub fn configure(cfg: &mut Config, hooks: &[(&str, String, &[&str])]) {
    let hooks: Vec<Webhook> = hooks
        .iter()
        .map(|(name, url, events)| Webhook {
            name: (*name).to_owned(),
            url: url.clone(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            secret: SECRET.to_owned().into(),
        })
        .collect();
    cfg.http.webhooks = Subscriptions::new(
        hooks
            .iter()
            .map(|h| (h.name.clone(), h.events.clone()))
            .collect(),
    );
    cfg.webhooks = Some(WebhookSettings {
        hooks,
        retries: Retries {
            max_attempts: 5,
            initial: Duration::from_secs(5),
            max: Duration::from_secs(60),
        },
        timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(50),
    });
}

const PYTHON_RECEIVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/webhooks/receiver.py"
);

/// `docs/webhooks/receiver.py`, verbatim, on a free port with `secret`.
pub struct PythonReceiver {
    pub port: u16,
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl PythonReceiver {
    pub fn start(secret: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .arg(PYTHON_RECEIVER)
            .arg(port.to_string())
            .env("WEBHOOK_SECRET", secret)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the documented receiver");
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = out.next().unwrap().unwrap();
        assert_eq!(first, format!("listening {port}"));
        let lines: Arc<Mutex<Vec<Value>>> = Arc::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in out.map_while(Result::ok) {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(&line).unwrap());
            }
        });
        Self { port, child, lines }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The events it handled, each `{"delivery", "event"}`.
    pub fn handled(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let got = self.handled();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{n} events expected, got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for PythonReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
