//! Three latchkey nodes sharing one PostgreSQL database: what one node
//! does, the others honour. Runs when `LATCHKEY_TEST_POSTGRES_URL` is set.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::{Server, start_on};

const PW: &str = "correct horse battery";

/// A schema of its own in the test database, dropped at the end.
struct Schema {
    admin: sqlx::PgPool,
    name: String,
    url: String,
}

impl Schema {
    async fn create(base: &str) -> Self {
        let admin = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(base)
            .await
            .expect("LATCHKEY_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
        let name = format!(
            "lk_cluster_{}_{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Self { admin, name, url }
    }

    async fn drop(self) {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&self.admin)
        .await;
    }
}

/// A private `redis-server` on a free loopback port, killed on drop.
struct RedisServer {
    child: std::process::Child,
    port: u16,
}

impl RedisServer {
    fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package) must be installed");
        let server = Self { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(server);
        panic!("redis-server did not start");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn base_url() -> Option<String> {
    let url = std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("skipped: set LATCHKEY_TEST_POSTGRES_URL to run the three-node cluster test");
    }
    url
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> reqwest::Response {
    http.post(url).json(&body).send().await.unwrap()
}

async fn me(http: &reqwest::Client, node: &Server, token: &str) -> u16 {
    http.get(format!("{}/v1/me", node.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn token_login(http: &reqwest::Client, node: &Server) -> Value {
    let r = post(
        http,
        format!("{}/v1/token/login", node.base),
        json!({"username": "ann", "password": PW}),
    )
    .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Revokes access token `at` through `revoker` and returns how long until
/// every node in `others` refuses it (at most 3 s, or the test fails).
async fn revoke_and_time(
    http: &reqwest::Client,
    revoker: &Server,
    others: &[&Server],
    at: &str,
    what: &str,
) -> Duration {
    let r = http
        .post(format!("{}/v1/token/revoke", revoker.base))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let start = Instant::now();
    let mut pending: Vec<&Server> = others.to_vec();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for n in pending {
            if me(http, n, at).await != 401 {
                still.push(n);
            }
        }
        pending = still;
        assert!(start.elapsed() < Duration::from_secs(3), "{what}");
    }
    start.elapsed()
}

/// The `name=value` of a response's first `Set-Cookie`.
fn first_cookie(r: &reqwest::Response) -> String {
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_sessions_tokens_and_revocations() {
    let Some(base) = base_url() else { return };
    let schema = Schema::create(&base).await;
    let http = reqwest::Client::new();
    let redis_port = free_port();
    let redis = RedisServer::start(redis_port);
    let redis_url = redis.url();
    let env = [("LATCHKEY_REDIS_URL", redis_url.as_str())];
    // The first node creates the schema and the first key; then the rest.
    let a = start_on(&schema.url, &env);
    let b = start_on(&schema.url, &env);
    let c = start_on(&schema.url, &env);
    let nodes = [&a, &b, &c];

    let r = post(
        &http,
        format!("{}/v1/register", a.base),
        json!({"username": "ann", "password": PW}),
    )
    .await;
    assert_eq!(r.status(), 201);

    // A cookie session made on one node works on every node.
    let login = post(
        &http,
        format!("{}/v1/session/login", a.base),
        json!({"username": "ann", "password": PW}),
    )
    .await;
    let cookie = first_cookie(&login);
    for n in nodes {
        let s = http
            .get(format!("{}/v1/session", n.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(s.status(), 200, "session refused by {}", n.base);
    }

    // Revocation propagation: revoke on one node, time until every other
    // node refuses the token.
    let mut times = Vec::new();
    for round in 0..9 {
        let issuer = nodes[round % 3];
        let revoker = nodes[(round + 1) % 3];
        let pair = token_login(&http, issuer).await;
        let at = pair["access_token"].as_str().unwrap().to_owned();
        for n in nodes {
            assert_eq!(me(&http, n, &at).await, 200);
        }
        let others: Vec<&Server> = nodes
            .iter()
            .copied()
            .filter(|n| n.base != revoker.base)
            .collect();
        let took = revoke_and_time(
            &http,
            revoker,
            &others,
            &at,
            "revocation did not reach every node",
        )
        .await;
        times.push(took);
    }
    times.sort();
    eprintln!(
        "revocation propagation over {} rounds: median {:?}, max {:?}",
        times.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );

    // Log out everywhere on one node: the bearer tokens die everywhere.
    let pair = token_login(&http, &b).await;
    let at = pair["access_token"].as_str().unwrap().to_owned();
    let csrf_login = post(
        &http,
        format!("{}/v1/session/login", c.base),
        json!({"username": "ann", "password": PW}),
    )
    .await;
    let c_cookie = first_cookie(&csrf_login);
    let csrf = csrf_login.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = http
        .delete(format!("{}/v1/sessions", c.base))
        .header("cookie", &c_cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let start = Instant::now();
    for n in [&a, &b] {
        while me(&http, n, &at).await != 401 {
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "log out everywhere did not reach {}",
                n.base
            );
        }
        let s = http
            .get(format!("{}/v1/session", n.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(s.status(), 401, "the cookie session ended everywhere");
    }

    // Eighteen concurrent refreshes of one token, spread over the nodes:
    // one rotation, every caller gets the same new refresh token.
    let pair = token_login(&http, &a).await;
    let rt = pair["refresh_token"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..18 {
        let url = format!("{}/v1/token/refresh", nodes[i % 3].base);
        let http = http.clone();
        let rt = rt.clone();
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .json(&json!({"refresh_token": rt}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut refreshed = std::collections::HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        refreshed.insert(body["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(refreshed.len(), 1, "exactly one new refresh token");

    // Redis goes away: the cluster stays correct (PostgreSQL NOTIFY and the
    // poll carry revocations; sessions come from PostgreSQL).
    redis.stop();
    let pair = token_login(&http, &c).await;
    let at = pair["access_token"].as_str().unwrap().to_owned();
    let took = revoke_and_time(
        &http,
        &a,
        &[&b, &c],
        &at,
        "without Redis a revoked token was accepted",
    )
    .await;
    eprintln!("revocation propagation without Redis: {took:?}");
    let s2 = post(
        &http,
        format!("{}/v1/session/login", b.base),
        json!({"username": "ann", "password": PW}),
    )
    .await;
    assert_eq!(s2.status(), 200, "logins work without Redis");
    let s2_cookie = first_cookie(&s2);
    let s = http
        .get(format!("{}/v1/session", a.base))
        .header("cookie", &s2_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(s.status(), 200);
    // And Redis comes back on the same port.
    let _redis = RedisServer::start(redis_port);
    let pair = token_login(&http, &a).await;
    let at = pair["access_token"].as_str().unwrap().to_owned();
    let took = revoke_and_time(
        &http,
        &c,
        &[&a, &b],
        &at,
        "revocation lost after Redis returned",
    )
    .await;
    eprintln!("revocation propagation after Redis returned: {took:?}");

    // Killing a node loses nothing: what it made is valid on the others.
    let made_on_b = token_login(&http, &b).await;
    let b_at = made_on_b["access_token"].as_str().unwrap().to_owned();
    b.kill9();
    for n in [&a, &c] {
        assert_eq!(me(&http, n, &b_at).await, 200);
    }
    let r = post(
        &http,
        format!("{}/v1/token/refresh", c.base),
        json!({"refresh_token": made_on_b["refresh_token"]}),
    )
    .await;
    assert_eq!(r.status(), 200);

    drop((a, c));
    schema.drop().await;
}
