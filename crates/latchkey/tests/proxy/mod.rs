//! What the real-proxy tests (`nginx.rs`, `caddy.rs`) share: latchkey as
//! a process with a configuration file, a recording upstream, clients
//! from distinct loopback addresses, and the documented snippet read from
//! `docs/forward-auth/` with its placeholders filled in.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::routing::any;

pub const BIN: &str = env!("CARGO_BIN_EXE_latchkey");
pub const PASSWORD: &str = "correct horse battery";

/// Kills the child when dropped.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The documented snippet `docs/forward-auth/NAME`, placeholders replaced.
pub fn snippet(name: &str, values: &[(&str, String)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/forward-auth")
        .join(name);
    let mut text = std::fs::read_to_string(&path).expect("the documented snippet");
    for (key, value) in values {
        let placeholder = format!("{{{{{key}}}}}");
        assert!(text.contains(&placeholder), "{name} has no {placeholder}");
        text = text.replace(&placeholder, value);
    }
    assert!(!text.contains("{{"), "{name}: a placeholder is left");
    text
}

/// The latchkey configuration the snippets expect, for a site at
/// `http://localhost:{port}`.
pub fn latchkey_config(dir: &Path, port: u16) -> std::path::PathBuf {
    let toml = format!(
        r#"
issuer = "http://localhost:{port}"
trusted_proxies = ["127.0.0.1"]
database_url = "sqlite://{db}"

[login_limits]
per_address = 5

[forward_auth]
default_policy = "deny"
allowed_redirect_domains = ["localhost"]

[[forward_auth.rules]]
hosts = ["localhost"]
paths = ["/admin", "/app/admin"]
groups = ["admins"]

[[forward_auth.rules]]
hosts = ["localhost"]
policy = "signed_in"
"#,
        db = dir.join("lk.db").display()
    );
    let file = dir.join("latchkey.toml");
    std::fs::write(&file, toml).unwrap();
    file
}

/// Starts `latchkey serve` on 127.0.0.1 (an ephemeral port).
pub fn start_latchkey(config: &Path) -> (Kill, String) {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .stdout(Stdio::piped())
        .spawn()
        .expect("start latchkey");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("latchkey exited").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["message"] == "latchkey listening" {
            break v["address"].as_str().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Kill(child), address)
}

/// Runs a latchkey CLI command on the same configuration; its stdout.
pub fn cli(config: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_clear()
        .output()
        .expect("run latchkey");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every request the upstream got: its path and headers.
pub type Seen = Arc<Mutex<Vec<(String, axum::http::HeaderMap)>>>;

/// A plain upstream that records every request it gets.
pub async fn start_upstream() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().fallback(any(move |req: Request| {
        let record = record.clone();
        async move {
            let path = req.uri().to_string();
            record.lock().unwrap().push((path, req.headers().clone()));
            "upstream says hi"
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A client that connects from `from` (a loopback address: the proxy sees
/// each such client as a different address) and follows no redirect.
pub fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Waits (bounded) until `url` answers at all.
pub async fn wait_until_up(url: &str) {
    let http = client_from("127.0.0.1");
    for _ in 0..200 {
        if http.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not come up");
}

/// The `name=value` of a `Set-Cookie` answer.
pub fn cookie_of(r: &reqwest::Response) -> String {
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A JWT's claims, decoded without any check (the test's own eyes).
pub fn token_claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// `rd`'s value percent-encoded as latchkey writes it.
pub fn encoded(url: &str) -> String {
    latchkey_http::forward_auth::redirect::encode(url)
}
