//! A blackholed database (issue 10, item 8): `/readyz` answers within its
//! own probe timeout, and requests that need the store fail fast while it
//! is known to be down, until a probe finds it back.
//!
//! The server reaches PostgreSQL through a TCP proxy in the test that first
//! forwards, then swallows everything (connections accepted, never
//! answered), then forwards again. Runs when `LATCHKEY_TEST_POSTGRES_URL`
//! is set; the real PostgreSQL server is never stopped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{PASSWORD, TestApp};

/// The most a blackholed request may take here: well above the probe
/// timeout configured below, well under the 5 s pool timeout.
const BOUND: Duration = Duration::from_secs(3);

/// A TCP proxy to PostgreSQL that can be switched to a blackhole.
struct Blackhole {
    addr: SocketAddr,
    holed: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Blackhole {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let holed = Arc::new(AtomicBool::new(false));
        let h = holed.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, target.clone(), h.clone()));
            }
        });
        Self { addr, holed, task }
    }

    fn set(&self, holed: bool) {
        self.holed.store(holed, Ordering::SeqCst);
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, target: String, holed: Arc<AtomicBool>) {
    if holed.load(Ordering::SeqCst) {
        // Accepted, never answered; held until the test ends.
        tokio::time::sleep(Duration::from_secs(60)).await;
        return;
    }
    let Ok(server) = TcpStream::connect(&target).await else {
        return;
    };
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    tokio::join!(pipe(cr, sw, holed.clone()), pipe(sr, cw, holed));
}

/// Copies bytes; while the hole is on, they vanish.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, holed: Arc<AtomicBool>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if holed.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `host:port` of a `postgres://[user[:pw]@]host:port/db` URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// A schema of its own (named after `tag`), reached through `url`, dropped
/// at the end.
async fn schema(base: &str, tag: u16) -> (sqlx::PgPool, String, String) {
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(base)
        .await
        .expect("LATCHKEY_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
    let name = format!("lk_blackhole_{}_{tag}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
    (admin, name, url)
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} did not happen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn i10_08_readyz_and_store_calls_fail_fast_while_the_database_is_blackholed() {
    let Ok(base) = std::env::var("LATCHKEY_TEST_POSTGRES_URL") else {
        eprintln!("skipped: set LATCHKEY_TEST_POSTGRES_URL");
        return;
    };
    let hole = Blackhole::start(authority(&base).to_owned()).await;
    let (admin, name, url) = schema(&base, hole.addr.port()).await;
    let url = url.replacen(authority(&base), &hole.addr.to_string(), 1);
    let app = TestApp::spawn_with(move |c| {
        c.database_url = url.clone();
        c.circuit.probe_timeout = Duration::from_millis(300);
        c.circuit.retry_interval = Duration::from_millis(500);
    })
    .await;
    assert_eq!(app.send(app.get("/readyz")).await.status, 200);
    app.create_user("before-the-outage", PASSWORD).await;

    hole.set(true);
    for _ in 0..3 {
        let r = tokio::time::timeout(BOUND, app.send(app.get("/readyz")))
            .await
            .expect("/readyz answers within its probe timeout");
        assert_eq!(r.status, 503, "{}", r.body);
    }
    for name in ["during-one", "during-two", "during-three"] {
        let r = tokio::time::timeout(BOUND, app.register(name, PASSWORD))
            .await
            .expect("a request that needs the store fails fast while it is down");
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.json()["code"], "store_unavailable");
    }

    hole.set(false);
    // The circuit retries by the server's monotonic clock: move it past
    // the retry interval before each look.
    eventually("/readyz turning ready again", async || {
        app.clock.advance_monotonic(Duration::from_millis(600));
        app.send(app.get("/readyz")).await.status == 200
    })
    .await;
    eventually("a registration after the outage", async || {
        app.clock.advance_monotonic(Duration::from_millis(600));
        app.register("after-the-outage", PASSWORD).await.status == 201
    })
    .await;
    drop(app);
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
        .execute(&admin)
        .await;
}
