//! A PostgreSQL outage: `/readyz` turns false, nothing panics or exits,
//! tokens are refused once revocations cannot be checked (fail closed), and
//! everything recovers when PostgreSQL returns, without restarting
//! latchkey. Stops and starts the real server, so it runs only when
//! `LATCHKEY_TEST_PG_CTL` names the control command (e.g.
//! `pg_ctlcluster --skip-systemctl-redirect 15 main`) and
//! `LATCHKEY_TEST_POSTGRES_URL` the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_methods)] // real-time bounds while PostgreSQL is down

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pg_ctl(ctl: &str, action: &str) {
    let mut parts = ctl.split_whitespace();
    let program = parts.next().expect("LATCHKEY_TEST_PG_CTL is empty");
    let status = Command::new(program)
        .args(parts)
        .arg(action)
        .status()
        .expect("run pg_ctl");
    assert!(status.success(), "`{ctl} {action}` failed");
}

/// Starts PostgreSQL again even if the test fails half-way.
struct Restart<'a>(&'a str);

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        let mut parts = self.0.split_whitespace();
        if let Some(program) = parts.next() {
            let _ = Command::new(program).args(parts).arg("start").status();
        }
    }
}

async fn status(
    http: &reqwest::Client,
    url: String,
    bearer: Option<&str>,
    cookie: Option<&str>,
) -> u16 {
    let mut rb = http.get(url).timeout(Duration::from_secs(8));
    if let Some(t) = bearer {
        rb = rb.bearer_auth(t);
    }
    if let Some(c) = cookie {
        rb = rb.header("cookie", c);
    }
    rb.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_flips_readiness_fails_closed_and_recovers() {
    let (Some(ctl), Some(db)) = (
        std::env::var("LATCHKEY_TEST_PG_CTL")
            .ok()
            .filter(|s| !s.is_empty()),
        std::env::var("LATCHKEY_TEST_POSTGRES_URL")
            .ok()
            .filter(|s| !s.is_empty()),
    ) else {
        eprintln!(
            "skipped: set LATCHKEY_TEST_PG_CTL and LATCHKEY_TEST_POSTGRES_URL to run the PostgreSQL outage test"
        );
        return;
    };
    // A schema of our own.
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db)
        .await
        .unwrap();
    let schema = format!("lk_outage_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let sep = if db.contains('?') { '&' } else { '?' };
    let url = format!("{db}{sep}options=-c%20search_path%3D{schema}");

    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url])
        .env_clear()
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let v: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        if v["message"] == "latchkey listening" {
            break v["address"].as_str().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let mut node = Node(child);
    let base = format!("http://{address}");
    let http = reqwest::Client::new();

    let creds = json!({"username": "olga", "password": "correct horse battery"});
    assert_eq!(
        http.post(format!("{base}/v1/register"))
            .json(&creds)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let login = http
        .post(format!("{base}/v1/session/login"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let pair: Value = http
        .post(format!("{base}/v1/token/login"))
        .json(&creds)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = pair["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        status(&http, format!("{base}/readyz"), None, None).await,
        200
    );

    let _restart = Restart(&ctl);
    pg_ctl(&ctl, "stop");
    wait_for("readyz turning 503", Duration::from_secs(15), async || {
        status(&http, format!("{base}/readyz"), None, None).await == 503
    })
    .await;
    // A session needs the store: 503, never 500, never a crash.
    assert_eq!(
        status(&http, format!("{base}/v1/session"), None, Some(&cookie)).await,
        503
    );
    // Tokens verify from memory, but only while the node can vouch for its
    // denylist; then they are refused.
    wait_for(
        "bearer tokens refused (fail closed)",
        Duration::from_secs(15),
        async || status(&http, format!("{base}/v1/me"), Some(&token), None).await == 503,
    )
    .await;
    assert!(
        node.0.try_wait().unwrap().is_none(),
        "latchkey must not exit during an outage"
    );

    pg_ctl(&ctl, "start");
    wait_for(
        "readyz turning 200 again",
        Duration::from_secs(30),
        async || status(&http, format!("{base}/readyz"), None, None).await == 200,
    )
    .await;
    wait_for(
        "sessions served again",
        Duration::from_secs(15),
        async || status(&http, format!("{base}/v1/session"), None, Some(&cookie)).await == 200,
    )
    .await;
    wait_for(
        "tokens accepted again",
        Duration::from_secs(15),
        async || status(&http, format!("{base}/v1/me"), Some(&token), None).await == 200,
    )
    .await;
    assert!(node.0.try_wait().unwrap().is_none());
    drop(node);

    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db)
        .await
        .unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await;
}
