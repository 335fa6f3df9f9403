//! Forward auth through a real nginx, configured by the documented
//! snippet itself (`docs/forward-auth/nginx.conf`, placeholders filled).
//! Runs when `LATCHKEY_TEST_NGINX` is set (`.ci/run` installs Debian's
//! nginx and sets it); otherwise prints one line and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use proxy::{
    Kill, PASSWORD, Seen, cli, client_from, cookie_of, encoded, free_port, latchkey_config,
    snippet, start_latchkey, start_upstream, token_claims, wait_until_up,
};
use serde_json::json;

/// nginx in front of latchkey and an upstream, as the doc shows it.
struct Site {
    base: String,
    latchkey: String,
    config: PathBuf,
    seen: Seen,
    _nginx: Kill,
    _latchkey: Kill,
    _dir: tempfile::TempDir,
}

async fn start() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = latchkey_config(dir.path(), port);
    let (latchkey_proc, latchkey) = start_latchkey(&config);
    let (upstream, seen) = start_upstream().await;
    let server = snippet(
        "nginx.conf",
        &[
            ("LISTEN", format!("127.0.0.1:{port}")),
            ("SERVER_NAME", "localhost".into()),
            ("LATCHKEY", latchkey.clone()),
            ("APP", upstream.to_string()),
        ],
    );
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
         {server}\n}}\n"
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let nginx = Command::new("nginx")
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx must be installed when LATCHKEY_TEST_NGINX is set");
    let base = format!("http://localhost:{port}");
    wait_until_up(&format!("{base}/login")).await;
    Site {
        base,
        latchkey,
        config,
        seen,
        _nginx: Kill(nginx),
        _latchkey: latchkey_proc,
        _dir: dir,
    }
}

/// Registers `name` through nginx and signs in (JSON); the cookie.
async fn sign_up(site: &Site, name: &str) -> String {
    let http = client_from("127.0.0.1");
    let creds = json!({"username": name, "password": PASSWORD});
    let r = http
        .post(format!("{}/v1/register", site.base))
        .header("origin", &site.base)
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let login = http
        .post(format!("{}/v1/session/login", site.base))
        .header("origin", &site.base)
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "the origin check holds behind nginx");
    cookie_of(&login)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_as_documented_gates_the_app_and_sends_browsers_to_sign_in() {
    if std::env::var_os("LATCHKEY_TEST_NGINX").is_none() {
        eprintln!("skipped: set LATCHKEY_TEST_NGINX=1 to run the nginx forward-auth test");
        return;
    }
    let site = start().await;
    strangers_are_refused(&site).await;
    browser_round_trip(&site).await;
    verify_and_metrics_are_not_exposed(&site).await;
    throttling_is_per_client(&site).await;
}

/// A stranger can register (registration is open) but gets nowhere: the
/// admin rule wants a group, and a host no rule names falls to the
/// default policy, deny.
async fn strangers_are_refused(site: &Site) {
    let stranger = sign_up(site, "stranger").await;
    let http = client_from("127.0.0.1");
    let r = http
        .get(format!("{}/admin/users", site.base))
        .header("cookie", &stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the admin rule wants the admins group");
    let r = http
        .get(format!("{}/orders", site.base))
        .header("host", "intranet.test")
        .header("cookie", &stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no rule for this host: default deny");
    // A forged unsafe request (cookie, no CSRF token) stops at latchkey.
    let r = http
        .post(format!("{}/orders", site.base))
        .header("cookie", &stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        site.seen.lock().unwrap().is_empty(),
        "the app saw none of it"
    );
    let check = cli(
        &site.config,
        &[
            "forward-auth",
            "check",
            &format!("{}/admin/x", site.base),
            "stranger",
        ],
    );
    assert!(
        check.contains("rule 0 matched") && check.contains("decision: deny"),
        "{check}"
    );
}

/// No credential: nginx sends the browser to /login?rd=…, which returns
/// it to the app after signing in; the app gets the user's name and
/// groups and never the cookie. A hostile rd is ignored.
async fn browser_round_trip(site: &Site) {
    let http = client_from("127.0.0.1");
    let original = format!("{}/admin/orders?id=7", site.base);
    let r = http
        .get(&original)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let login_page = format!("{}/login?rd={}", site.base, encoded(&original));
    assert_eq!(r.headers()["location"], login_page.as_str());
    let page = http
        .get(&login_page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"name="rd""#), "{page}");
    sign_up(site, "nina").await;
    let groups = cli(
        &site.config,
        &["user", "groups", "nina", "--add", "admins", "--add", "ops"],
    );
    assert_eq!(groups, "admins\nops\n");
    let form = [
        ("username", "nina"),
        ("password", PASSWORD),
        ("rd", original.as_str()),
    ];
    let signed_in = http
        .post(format!("{}/login", site.base))
        .header("origin", &site.base)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], original.as_str());
    let cookie = cookie_of(&signed_in);
    the_app_sees_who_but_no_cookie(site, &original, &cookie).await;
    hostile_rd_is_ignored(site).await;
}

/// With the cookie, the app gets the user's id, name and groups (and a
/// token saying the same), never the cookie.
async fn the_app_sees_who_but_no_cookie(site: &Site, original: &str, cookie: &str) {
    let http = client_from("127.0.0.1");
    let r = http
        .get(original)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "upstream says hi");
    let (path, headers) = site.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(path, "/admin/orders?id=7");
    assert_eq!(headers["x-latchkey-username"], "nina");
    assert_eq!(headers["x-latchkey-groups"], "admins,ops");
    assert!(
        headers.get("cookie").is_none(),
        "the cookie never reaches the app"
    );
    let token = headers["authorization"]
        .to_str()
        .unwrap()
        .trim_start_matches("Bearer ");
    let claims = token_claims(token);
    assert_eq!(claims["aud"], "latchkey-forward-auth");
    assert_eq!(claims["groups"], json!(["admins", "ops"]));
    assert_eq!(headers["x-latchkey-user"], claims["sub"].as_str().unwrap());
}

/// A hostile rd: signed in, the browser lands on its account page.
async fn hostile_rd_is_ignored(site: &Site) {
    let http = client_from("127.0.0.1");
    let form = [
        ("username", "nina"),
        ("password", PASSWORD),
        ("rd", "https://evil.test/"),
    ];
    let r = http
        .post(format!("{}/login", site.base))
        .header("origin", &site.base)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/account");
}

/// A page's script cannot reach /v1/verify (nor /metrics) through nginx,
/// and a peer that is not a trusted proxy cannot ask latchkey directly.
async fn verify_and_metrics_are_not_exposed(site: &Site) {
    let http = client_from("127.0.0.1");
    for path in ["/v1/verify", "/metrics"] {
        let r = http
            .get(format!("{}{path}", site.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let stranger = client_from("127.0.0.2");
    let r = stranger
        .get(format!("http://{}/v1/verify", site.latchkey))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "untrusted_proxy");
}

/// Failed sign-ins count against the client's address, which nginx
/// forwards: an attacker is throttled, everyone else is not, and a forged
/// X-Forwarded-For does not help.
async fn throttling_is_per_client(site: &Site) {
    let attacker = client_from("127.0.0.2");
    let mut throttled = false;
    for i in 0..8 {
        let creds = json!({"username": format!("victim{i}"), "password": "wrong password!"});
        let r = attacker
            .post(format!("{}/v1/session/login", site.base))
            .header("origin", &site.base)
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            throttled = true;
            break;
        }
        assert_eq!(r.status(), 401);
    }
    assert!(throttled, "the attacker's address is throttled");
    let victim = client_from("127.0.0.3");
    let r = victim
        .post(format!("{}/v1/session/login", site.base))
        .header("origin", &site.base)
        .json(&json!({"username": "nina", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "another client signs in");
}
