//! Forward auth through a real Caddy, configured by the documented
//! snippet itself (`docs/forward-auth/Caddyfile`, placeholders filled).
//! Runs when `LATCHKEY_TEST_CADDY` is set (`.ci/run` installs Debian's
//! Caddy and sets it); otherwise prints one line and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use proxy::{
    Kill, PASSWORD, Seen, cli, client_from, cookie_of, encoded, free_port, latchkey_config,
    snippet, start_latchkey, start_upstream, token_claims, wait_until_up,
};
use serde_json::json;

struct Site {
    base: String,
    config: PathBuf,
    seen: Seen,
    _caddy: Kill,
    _latchkey: Kill,
    _dir: tempfile::TempDir,
}

async fn start() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = latchkey_config(dir.path(), port);
    let (latchkey_proc, latchkey) = start_latchkey(&config);
    let (upstream, seen) = start_upstream().await;
    let caddyfile = snippet(
        "Caddyfile",
        &[
            ("SITE", format!("http://localhost:{port}")),
            ("LATCHKEY", latchkey),
            ("APP", upstream.to_string()),
        ],
    );
    let path = dir.path().join("Caddyfile");
    std::fs::write(&path, caddyfile).unwrap();
    let caddy = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&path)
        .env_clear()
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("caddy must be installed when LATCHKEY_TEST_CADDY is set");
    let base = format!("http://localhost:{port}");
    wait_until_up(&format!("{base}/login")).await;
    Site {
        base,
        config,
        seen,
        _caddy: Kill(caddy),
        _latchkey: latchkey_proc,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_as_documented_gates_the_app_and_sends_browsers_to_sign_in() {
    if std::env::var_os("LATCHKEY_TEST_CADDY").is_none() {
        eprintln!("skipped: set LATCHKEY_TEST_CADDY=1 to run the Caddy forward-auth test");
        return;
    }
    let site = start().await;
    let http = client_from("127.0.0.1");
    for path in ["/v1/verify", "/metrics"] {
        let r = http
            .get(format!("{}{path}", site.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    // A browser without a credential: to the sign-in page, with rd the
    // original URL (the /app prefix included).
    let original = format!("{}/app/admin/orders?id=7", site.base);
    let r = http
        .get(&original)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let login_page = format!("{}/login?rd={}", site.base, encoded(&original));
    assert_eq!(r.headers()["location"], login_page.as_str());
    // A script's fetch: 401, no redirect.
    let r = http.get(&original).send().await.unwrap();
    assert_eq!(r.status(), 401);
    stranger_is_refused(&site).await;
    round_trip(&site, &original).await;
}

async fn register(site: &Site, name: &str) {
    let r = client_from("127.0.0.1")
        .post(format!("{}/v1/register", site.base))
        .header("origin", &site.base)
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// Signs in with the page's form; the answer.
async fn form_login(site: &Site, name: &str, rd: &str) -> reqwest::Response {
    let form = [("username", name), ("password", PASSWORD), ("rd", rd)];
    client_from("127.0.0.1")
        .post(format!("{}/login", site.base))
        .header("origin", &site.base)
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn stranger_is_refused(site: &Site) {
    register(site, "stranger").await;
    let r = form_login(site, "stranger", "").await;
    let cookie = cookie_of(&r);
    let r = client_from("127.0.0.1")
        .get(format!("{}/app/admin/x", site.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(site.seen.lock().unwrap().is_empty());
}

async fn round_trip(site: &Site, original: &str) {
    register(site, "nina").await;
    cli(&site.config, &["user", "groups", "nina", "--add", "admins"]);
    let r = form_login(site, "nina", original).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], original);
    let cookie = cookie_of(&r);
    let r = client_from("127.0.0.1")
        .get(original)
        .header("cookie", &cookie)
        // A client's own identity headers are replaced by latchkey's.
        .header("x-latchkey-username", "root")
        .header("x-latchkey-groups", "root")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (path, headers) = site.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(path, "/admin/orders?id=7", "handle_path strips /app");
    assert_eq!(headers["x-latchkey-username"], "nina");
    assert_eq!(headers["x-latchkey-groups"], "admins");
    assert!(
        headers.get("cookie").is_none(),
        "the cookie never reaches the app"
    );
    let token = headers["authorization"]
        .to_str()
        .unwrap()
        .trim_start_matches("Bearer ");
    assert_eq!(token_claims(token)["groups"], json!(["admins"]));
}
