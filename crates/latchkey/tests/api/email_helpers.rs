//! The e-mail tests' SMTP peer: `tests/smtp/smtp_sink.py` (aiosmtpd), a
//! real SMTP server on a free loopback port that stores every message it
//! accepts as JSON. Gated on `LATCHKEY_TEST_SMTP`: unset, a test prints
//! one line and passes; set, a missing python3 or aiosmtpd fails it.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey::config::Config;
use latchkey::mailer::SmtpSettings;
use latchkey_auth::email::Templates;
use latchkey_auth::{EmailSettings, RecipientLimit};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{Reply, TestApp};

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/smtp_sink.py");
/// How long a message may take to arrive before a test fails.
const ARRIVAL: Duration = Duration::from_secs(20);

/// Whether the SMTP tests run; prints the skip line when they do not.
pub fn smtp_enabled() -> bool {
    if std::env::var_os("LATCHKEY_TEST_SMTP").is_none() {
        eprintln!("skipped: set LATCHKEY_TEST_SMTP");
        return false;
    }
    true
}

/// A running SMTP server and the messages it received.
pub struct SmtpPeer {
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
}

fn spawn_sink(dir: &std::path::Path, port: u16) -> (Child, u16) {
    let mut child = Command::new("python3")
        .arg(SINK)
        .arg("--dir")
        .arg(dir)
        .arg("--port")
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("LATCHKEY_TEST_SMTP is set but python3 cannot be started");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the SMTP sink's first line");
    let port = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            panic!("the SMTP sink did not start (is aiosmtpd installed? pip install aiosmtpd)")
        });
    (child, port)
}

impl SmtpPeer {
    /// Starts the sink on a free port.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (child, port) = spawn_sink(dir.path(), 0);
        Self {
            port,
            dir,
            child: Some(child),
        }
    }

    /// Takes the server down (an outage).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Brings it back on the same port.
    pub fn resume(&mut self) {
        self.stop();
        let (child, port) = spawn_sink(self.dir.path(), self.port);
        assert_eq!(port, self.port);
        self.child = Some(child);
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("read the sink's folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits (boundedly) until `n` messages have arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{n} messages expected, got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for message number `n` (1-based) and returns it.
    pub async fn nth(&self, n: usize) -> Value {
        self.wait_for(n).await.swap_remove(n - 1)
    }

    /// `[email]` pointing at this peer, for `TestApp::spawn_with`.
    pub fn configure(&self) -> impl Fn(&mut Config) + Send + Sync + 'static {
        let port = self.port;
        move |cfg: &mut Config| configure(cfg, port)
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sets `[email]` with the SMTP server at `127.0.0.1:port`: retries from
/// 5 s (on the test's clock), a fast poll.
pub fn configure(cfg: &mut Config, port: u16) {
    cfg.smtp = Some(SmtpSettings {
        url: format!("smtp://127.0.0.1:{port}"),
        from: "latchkey <no-reply@example.com>".parse().unwrap(),
        username: None,
        password: None,
        timeout: Duration::from_secs(5),
        max_attempts: 10,
        retry_initial: Duration::from_secs(5),
        retry_max: Duration::from_secs(60),
        poll_interval: Duration::from_millis(50),
    });
    cfg.http.email = Some(EmailSettings::new(
        &cfg.issuer,
        Templates::default(),
        RecipientLimit::default(),
    ));
}

/// The link token in a message's text part.
pub fn link_token(message: &Value) -> String {
    let text = message["text"].as_str().expect("text part");
    let at = text.find("token=").expect("a link with a token") + "token=".len();
    let token: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(token.len(), 43, "256-bit token: {token}");
    token
}

/// The 6-digit code in a message's text part.
pub fn mailed_code(message: &Value) -> String {
    let text = message["text"].as_str().expect("text part");
    let at = text.find("code is ").expect("a code") + "code is ".len();
    let code = &text[at..at + 6];
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "6 digits: {code}");
    code.to_owned()
}

/// Who a message went to.
pub fn recipient(message: &Value) -> String {
    message["to"][0].as_str().expect("to").to_owned()
}

impl TestApp {
    /// Registers `username` with `email` and verifies it with the link
    /// that message number `nth` of `peer` carries.
    pub async fn verified_user(&self, peer: &SmtpPeer, nth: usize, username: &str, email: &str) {
        let r = self.register_with_email(username, email).await;
        assert_eq!(r.status, 201, "register: {}", r.body);
        let m = peer.nth(nth).await;
        assert_eq!(recipient(&m), email);
        let r = self.verify_link(&link_token(&m)).await;
        assert_eq!(r.status, 204, "verify: {}", r.body);
    }

    /// `POST /v1/register` with an address.
    pub async fn register_with_email(&self, username: &str, email: &str) -> Reply {
        let body =
            json!({ "username": username, "password": crate::helpers::PASSWORD, "email": email });
        self.send(self.post("/v1/register").json(&body)).await
    }

    /// `POST /v1/email/verify`.
    pub async fn verify_link(&self, token: &str) -> Reply {
        self.secret(token);
        self.send(
            self.post("/v1/email/verify")
                .json(&json!({ "token": token })),
        )
        .await
    }

    /// `POST /v1/password/forgot`.
    pub async fn forgot(&self, email: &str) -> Reply {
        self.send(
            self.post("/v1/password/forgot")
                .json(&json!({ "email": email })),
        )
        .await
    }

    /// `POST /v1/email/code`.
    pub async fn ask_code(&self, email: &str) -> Reply {
        self.send(self.post("/v1/email/code").json(&json!({ "email": email })))
            .await
    }

    /// `POST /v1/email/login`.
    pub async fn code_login(&self, email: &str, code: &str, issue: &str) -> Reply {
        let body = json!({ "email": email, "code": code, "issue": issue });
        self.send(self.post("/v1/email/login").json(&body)).await
    }
}
