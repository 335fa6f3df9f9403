//! Forward auth through a real nginx (`auth_request` → `/v1/verify`).
//! Runs when `LATCHKEY_TEST_NGINX` is set (`.ci/run` installs Debian's
//! nginx and sets it); otherwise prints one line and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::routing::any;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_latchkey(dir: &std::path::Path) -> (Kill, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--database")
        .arg(format!("sqlite://{}/lk.db", dir.display()))
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

/// A plain upstream that records the headers of every request it gets.
async fn start_upstream() -> (SocketAddr, Arc<Mutex<Vec<axum::http::HeaderMap>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().fallback(any(move |req: Request| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(req.headers().clone());
            "upstream says hi"
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nginx_conf(dir: &std::path::Path, port: u16, latchkey: &str, upstream: SocketAddr) -> String {
    let d = dir.display();
    format!(
        r#"
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /_latchkey_verify {{
            internal;
            proxy_pass http://{latchkey}/v1/verify;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-Method $request_method;
        }}
        location /api/ {{
            auth_request /_latchkey_verify;
            auth_request_set $lk_user $upstream_http_x_latchkey_user;
            auth_request_set $lk_auth $upstream_http_authorization;
            proxy_set_header X-Latchkey-User $lk_user;
            proxy_set_header Authorization $lk_auth;
            proxy_set_header Cookie "";
            proxy_pass http://{upstream}/;
        }}
        location / {{ proxy_pass http://{latchkey}; }}
    }}
}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_lets_sessions_through_with_a_bearer_and_refuses_the_rest() {
    if std::env::var_os("LATCHKEY_TEST_NGINX").is_none() {
        eprintln!("skipped: set LATCHKEY_TEST_NGINX=1 to run the nginx forward-auth test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_latchkey, latchkey) = start_latchkey(dir.path());
    let (upstream, seen) = start_upstream().await;
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir.path(), port, &latchkey, upstream)).unwrap();
    let nginx = Command::new("nginx")
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx must be installed when LATCHKEY_TEST_NGINX is set");
    let _nginx = Kill(nginx);
    let base = format!("http://localhost:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "nginx did not come up");

    // Anonymous: refused by nginx on latchkey's word; the upstream sees nothing.
    let anon = http.get(format!("{base}/api/orders")).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    assert!(seen.lock().unwrap().is_empty());

    // Register and log in through nginx, then call the API with the cookie.
    let creds = serde_json::json!({"username": "nina", "password": "correct horse battery"});
    let r = http
        .post(format!("{base}/v1/register"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let login = http
        .post(format!("{base}/v1/session/login"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = login.json().await.unwrap();
    let user_id = body["user"]["id"].as_str().unwrap().to_owned();

    let ok = http
        .get(format!("{base}/api/orders"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "upstream says hi");
    let headers = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(headers["x-latchkey-user"], user_id.as_str());
    let auth = headers["authorization"].to_str().unwrap();
    let token = auth
        .strip_prefix("Bearer ")
        .expect("a bearer token for the upstream");
    assert!(
        headers.get("cookie").is_none(),
        "the session cookie never reaches the upstream"
    );
    // The token is minted for forward auth's own audience, for this user,
    // and is no first-party credential: latchkey itself refuses it.
    let claims = token_claims(token);
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(claims["aud"], "latchkey-forward-auth");
    let me = http
        .get(format!("{base}/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);

    // An unsafe method with the cookie but no CSRF token is refused.
    let post = http
        .post(format!("{base}/api/orders"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 403, "nginx passes latchkey's 403 on");
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the forged POST never reached the upstream"
    );
}

/// A JWT's claims, decoded without any check (the test's own eyes).
fn token_claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
