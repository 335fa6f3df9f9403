//! The outbox across `kill -9` and an SMTP outage, with the real binary
//! and a real SMTP server (`tests/smtp/smtp_sink.py`, aiosmtpd). Gated on
//! `LATCHKEY_TEST_SMTP`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::{db_url, start_on, temp};

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/smtp_sink.py");

fn smtp_enabled() -> bool {
    if std::env::var_os("LATCHKEY_TEST_SMTP").is_none() {
        eprintln!("skipped: set LATCHKEY_TEST_SMTP");
        return false;
    }
    true
}

struct Sink(Child);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The SMTP sink on `port`, storing messages in `dir`.
fn sink(dir: &Path, port: u16) -> Sink {
    let mut child = Command::new("python3")
        .arg(SINK)
        .arg("--dir")
        .arg(dir)
        .arg("--port")
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("LATCHKEY_TEST_SMTP is set but python3 cannot be started");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        format!("listening {port}"),
        "is aiosmtpd installed?"
    );
    Sink(child)
}

/// A loopback port with nothing listening on it (yet).
fn idle_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn received(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

/// Waits (up to `limit`) for `n` messages in `dir`; how long it took.
async fn wait_for(dir: &Path, n: usize, limit: Duration) -> Duration {
    let start = Instant::now();
    while received(dir) < n {
        assert!(
            start.elapsed() < limit,
            "{n} messages expected, got {}",
            received(dir)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

fn email_env(port: u16, retry_initial: &str, retry_max: &str) -> Vec<(String, String)> {
    [
        (
            "LATCHKEY_EMAIL__SMTP_URL",
            format!("smtp://127.0.0.1:{port}"),
        ),
        (
            "LATCHKEY_EMAIL__FROM",
            "latchkey <no-reply@example.com>".into(),
        ),
        ("LATCHKEY_EMAIL__RETRY_INITIAL", retry_initial.into()),
        ("LATCHKEY_EMAIL__RETRY_MAX", retry_max.into()),
        ("LATCHKEY_EMAIL__POLL_INTERVAL", "100ms".into()),
        // A message whose sender was killed mid-send waits out its lease
        // (4 × timeout + 5 s) before another sender takes it.
        ("LATCHKEY_EMAIL__TIMEOUT", "2s".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn register_with_email(http: &reqwest::Client, base: &str, name: &str) {
    let body = serde_json::json!({
        "username": name, "password": "correct horse battery", "email": format!("{name}@example.com")
    });
    let r = http
        .post(format!("{base}/v1/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_are_sent_after_kill_9_and_a_restart() {
    if !smtp_enabled() {
        return;
    }
    let (_dir, path) = temp();
    let mail_dir = tempfile::tempdir().unwrap();
    let port = idle_port();
    let env = email_env(port, "200ms", "1s");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let http = reqwest::Client::new();
    // SMTP is down: three registrations are acknowledged, their messages
    // wait in the outbox.
    let server = start_on(&db_url(&path), &env);
    for name in ["alice", "bob", "carol"] {
        register_with_email(&http, &server.base, name).await;
    }
    server.kill9();
    let _sink = sink(mail_dir.path(), port);
    assert_eq!(received(mail_dir.path()), 0);
    let _server = start_on(&db_url(&path), &env);
    wait_for(mail_dir.path(), 3, Duration::from_secs(30)).await;
}

/// The figure in docs/EMAIL.md: with the default back-off (5 s doubling
/// to 10 min), how long after an outage of `LATCHKEY_OUTAGE_SECS` (30)
/// the SMTP server gets the message. Run with `--ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: takes as long as the outage"]
async fn measure_delivery_after_an_smtp_outage() {
    if !smtp_enabled() {
        return;
    }
    let outage: u64 = std::env::var("LATCHKEY_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let (_dir, path) = temp();
    let mail_dir = tempfile::tempdir().unwrap();
    let port = idle_port();
    let env = email_env(port, "5s", "10m");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = start_on(&db_url(&path), &env);
    let http = reqwest::Client::new();
    let asked = Instant::now();
    register_with_email(&http, &server.base, "alice").await;
    let answered = asked.elapsed();
    tokio::time::sleep(Duration::from_secs(outage)).await;
    let _sink = sink(mail_dir.path(), port);
    let after = wait_for(mail_dir.path(), 1, Duration::from_secs(outage * 2 + 30)).await;
    println!(
        "outage {outage} s: HTTP answer in {} ms; delivered {:.1} s after the SMTP server came back",
        answered.as_millis(),
        after.as_secs_f64()
    );
    drop(server);
}
