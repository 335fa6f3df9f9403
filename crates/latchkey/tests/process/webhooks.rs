//! Webhook deliveries across a restart, with the real binary and the
//! documented receiver (`docs/webhooks/receiver.py`): events recorded
//! while the receiver is down wait in the store through a shutdown and
//! are delivered by the next start once it is up.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::server::{Server, db_url, register, start_with_args, temp};

const RECEIVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/webhooks/receiver.py"
);
const SECRET: &str = "whsec-process-0123456789abcdef0123456789";

/// The documented receiver on `port`; the events it handled.
struct Receiver {
    child: Child,
    handled: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Receiver {
    fn start(port: u16) -> Self {
        let mut child = Command::new("python3")
            .arg(RECEIVER)
            .arg(port.to_string())
            .env("WEBHOOK_SECRET", SECRET)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the documented receiver");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), format!("listening {port}"));
        let handled: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let sink = handled.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(&line).unwrap());
            }
        });
        Self { child, handled }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (boundedly) until `server` has logged `message` `n` times.
fn wait_logged(server: &Server, message: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = server.logs.lock().unwrap().clone();
        let seen = logs.iter().filter(|l| l.contains(message)).count();
        if seen >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{message} ×{n} expected in {logs:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn failed_login(http: &reqwest::Client, base: &str, name: &str) {
    let r = http
        .post(format!("{base}/v1/session/login"))
        .json(&serde_json::json!({"username": name, "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_undelivered_at_shutdown_are_delivered_after_a_restart() {
    let (_dir, path) = temp();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = path.join("latchkey.toml");
    std::fs::write(
        &config,
        format!(
            "[[webhooks]]\nname = \"audit-sink\"\nurl = \"http://127.0.0.1:{port}/\"\n\
             events = [\"login.failed\"]\nsecret_env = \"WEBHOOK_SECRET\"\n\n\
             [webhook_delivery]\nretry_initial = \"200ms\"\nretry_max = \"1s\"\n\
             poll_interval = \"100ms\"\n"
        ),
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let env = [("WEBHOOK_SECRET", SECRET)];
    let http = reqwest::Client::new();
    // The receiver is down: two failed sign-ins are answered at once, and
    // their deliveries fail and wait for a retry.
    let server = start_with_args(&db_url(&path), &args, &env);
    register(&http, &server.base, "alice", "correct horse battery").await;
    failed_login(&http, &server.base, "alice").await;
    failed_login(&http, &server.base, "alice").await;
    wait_logged(&server, "webhook not delivered; will retry", 2);
    let logs = server.logs.lock().unwrap().join("\n");
    assert!(!logs.contains(SECRET), "the secret is never logged");
    assert!(!logs.contains("v1="), "nor is a signature");
    assert!(server.terminate().success());

    let receiver = Receiver::start(port);
    let _server = start_with_args(&db_url(&path), &args, &env);
    let deadline = Instant::now() + Duration::from_secs(30);
    let handled = loop {
        let handled = receiver.handled.lock().unwrap().clone();
        if handled.len() >= 2 {
            break handled;
        }
        assert!(
            Instant::now() < deadline,
            "2 events expected, got {handled:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(handled.len(), 2);
    assert_ne!(handled[0]["delivery"], handled[1]["delivery"]);
    for h in &handled {
        assert_eq!(h["event"]["type"], "login.failed");
        assert_eq!(h["event"]["webhook"], "audit-sink");
    }
}
