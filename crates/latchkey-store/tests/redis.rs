#![allow(clippy::unwrap_used, clippy::expect_used)]
// Real-time bounds on socket deadlines (never "took < X" assertions).
#![allow(clippy::disallowed_methods)]
//! `RedisCached` over SQLite: the conformance suite with Redis up and with
//! Redis gone, and what only Redis adds — two nodes sharing one cache,
//! shared failure counters, revocation wake-ups, and a node cut off from
//! Redis.
//!
//! The live tests use the Redis named by `LATCHKEY_TEST_REDIS_URL`
//! (`redis://127.0.0.1:6379`), each under a key prefix of its own that is
//! deleted afterwards (SCAN + DEL). Without the variable (or with it empty)
//! they pass without running, and the run says so once on stderr; with it,
//! an unreachable Redis fails them. The dead-Redis tests always run.

use std::hash::{BuildHasher as _, RandomState};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use latchkey_core::revocation::{Revocation, Target};
use latchkey_core::{
    PasswordHash, Session, SessionHandle, SessionPolicy, SessionSecret, Timestamp, UserId, Username,
};
use latchkey_store::conformance::{self, Fixture};
use latchkey_store::redis::RedisCached;
use latchkey_store::sqlite::SqliteStore;
use latchkey_store::{
    Keep, LoginFailures as _, Revocations as _, RevokeAt, Sessions as _, Store, User, Users as _,
};
use tempfile::TempDir;

const VAR: &str = "LATCHKEY_TEST_REDIS_URL";

/// The Redis to test against, or `None` (said once per run) to skip.
fn configured_url() -> Option<String> {
    static SKIP: Once = Once::new();
    match std::env::var(VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        Err(std::env::VarError::NotUnicode(_)) => panic!("{VAR} is not valid UTF-8"),
        _ => {
            SKIP.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: set {VAR} to run the Redis conformance suite"
                );
            });
            None
        }
    }
}

/// A key prefix of its own for one test; every key under it is deleted
/// when this is dropped.
struct Prefix {
    url: String,
    prefix: String,
}

impl Prefix {
    fn new(url: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "lktest:{}:{:016x}:{}:",
            std::process::id(),
            RandomState::new().hash_one(0u8),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = connection(url)
            .unwrap_or_else(|e| panic!("{VAR} is set but Redis is unreachable: {e}"));
        let pong: String = redis::cmd("PING")
            .query(&mut c)
            .unwrap_or_else(|e| panic!("{VAR} is set but Redis does not answer: {e}"));
        assert_eq!(pong, "PONG");
        Self {
            url: url.to_owned(),
            prefix,
        }
    }

    fn keys(&self) -> redis::RedisResult<Vec<String>> {
        let mut c = connection(&self.url)?;
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query(&mut c)?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    fn exists(&self, key: &str) -> bool {
        let mut c = connection(&self.url).unwrap();
        redis::cmd("EXISTS")
            .arg(format!("{}{key}", self.prefix))
            .query::<i64>(&mut c)
            .unwrap()
            == 1
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let cleaned = self.keys().and_then(|keys| {
            if !keys.is_empty() {
                redis::cmd("DEL")
                    .arg(&keys)
                    .query::<i64>(&mut connection(&self.url)?)?;
            }
            Ok(())
        });
        if let Err(e) = cleaned {
            let _ = writeln!(
                std::io::stderr(),
                "warning: could not delete Redis keys {}*: {e}",
                self.prefix
            );
        }
    }
}

fn connection(url: &str) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(2))
}

async fn sqlite() -> (TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::open(&url).await.expect("open sqlite");
    (dir, Arc::new(store))
}

async fn node(inner: &Arc<SqliteStore>, url: &str, prefix: &Prefix) -> RedisCached<SqliteStore> {
    RedisCached::connect(inner.clone(), url, prefix.prefix.clone(), real_clock())
        .await
        .expect("connect")
}

/// Two nodes (Redis-cached stores) over one SQLite store and one Redis
/// key prefix: what a cluster of two latchkey servers shares.
struct TwoNodes {
    a: RedisCached<SqliteStore>,
    b: RedisCached<SqliteStore>,
    shared: Shared,
}

/// What the two nodes share, kept alive as long as they are.
struct Shared {
    inner: Arc<SqliteStore>,
    prefix: Prefix,
    _dir: TempDir,
}

/// [`TwoNodes`], or `None` (after the skip line) when no Redis is
/// configured.
async fn two_nodes() -> Option<TwoNodes> {
    let url = configured_url()?;
    let prefix = Prefix::new(&url);
    let (dir, inner) = sqlite().await;
    let a = node(&inner, &url, &prefix).await;
    let b = node(&inner, &url, &prefix).await;
    Some(TwoNodes {
        a,
        b,
        shared: Shared {
            inner,
            prefix,
            _dir: dir,
        },
    })
}

/// Monotonic time that moves by itself: these tests run against a real
/// Redis, whose circuit reopens after a real second.
struct RealClock(std::time::Instant);

impl latchkey_core::Clock for RealClock {
    fn now(&self) -> latchkey_core::Timestamp {
        latchkey_core::Timestamp::from_unix_millis(0)
    }
    fn monotonic(&self) -> Duration {
        self.0.elapsed()
    }
}

#[allow(clippy::disallowed_methods)]
fn real_clock() -> Arc<dyn latchkey_core::Clock> {
    Arc::new(RealClock(std::time::Instant::now()))
}

/// A URL on which nothing listens.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("redis://127.0.0.1:{port}")
}

mod live {
    use super::*;

    async fn fresh() -> Option<Fixture> {
        let url = configured_url()?;
        let prefix = Prefix::new(&url);
        let (dir, inner) = sqlite().await;
        let store = node(&inner, &url, &prefix).await;
        Some(Fixture {
            store: Box::new(store),
            guard: Box::new((prefix, dir)),
        })
    }

    latchkey_store::conformance_suite!(fresh());
}

mod dead_redis {
    use super::*;

    async fn fresh() -> Fixture {
        let (dir, inner) = sqlite().await;
        // As the server builds it: over an `Arc<dyn Store>`.
        let inner: Arc<dyn Store> = inner;
        let store = RedisCached::connect(inner, &dead_url(), "lkdead:".into(), real_clock())
            .await
            .expect("connect to a dead Redis");
        Fixture {
            store: Box::new(store),
            guard: Box::new(dir),
        }
    }

    latchkey_store::conformance_suite!(fresh());
}

const T0: i64 = 1_800_000_000_000;
const MIN: Duration = Duration::from_secs(60);

fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}

fn at(ms: i64) -> RevokeAt<'static> {
    RevokeAt::new(t(ms), Duration::from_secs(300))
}

async fn user(store: &dyn Store, name: &str, n: u8) -> User {
    let u = User {
        id: UserId::from_random([n; 16]),
        username: Username::parse(name).unwrap(),
        password_hash: Some(PasswordHash::from_stored(
            "$argon2id$v=19$m=19456,t=2,p=1$x".into(),
        )),
        created_at: t(0),
        disabled_at: None,
    };
    store.create_user(&u).await.unwrap();
    u
}

async fn session(store: &dyn Store, u: &User, n: u8) -> (SessionSecret, Session) {
    let secret = SessionSecret::from_random([n; 32]);
    let s = SessionPolicy::default().start(
        SessionHandle::from_random([n; 16]),
        u.id,
        t(0),
        false,
        None,
        None,
    );
    store.create_session(&secret.hash(), &s).await.unwrap();
    (secret, s)
}

async fn live(store: &dyn Store, secret: &SessionSecret) -> bool {
    store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .is_some()
}

fn cache_key(secret: &SessionSecret) -> String {
    let hex: String = secret
        .hash()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sess:{hex}")
}

/// The conformance suite above passes even if every Redis call failed
/// (that is the fallback). This runs its Redis-backed cases on one node
/// and checks that Redis answered every call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_runs_on_redis_not_on_the_fallback() {
    let Some(url) = configured_url() else { return };
    type Case =
        for<'a> fn(&'a dyn Store) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;
    // (name, whether it leaves entries in Redis, case)
    let cases: [(&str, bool, Case); 6] = [
        ("sessions", true, |s| {
            Box::pin(conformance::sessions_are_found_by_secret_hash_only(s))
        }),
        ("touch", true, |s| {
            Box::pin(conformance::touch_moves_last_seen_forward_only(s))
        }),
        ("logout", false, |s| {
            Box::pin(conformance::logout_deletes_by_secret_and_records_the_sid(s))
        }),
        ("everywhere", true, |s| {
            Box::pin(conformance::log_out_everywhere_keeps_only_the_kept_session(
                s,
            ))
        }),
        ("window", true, |s| {
            Box::pin(conformance::failures_count_within_a_window_and_reset_after(
                s,
            ))
        }),
        ("sweep", true, |s| {
            Box::pin(conformance::failures_clear_and_sweep(s))
        }),
    ];
    for (name, leaves, case) in cases {
        let prefix = Prefix::new(&url);
        let (_dir, inner) = sqlite().await;
        let store = node(&inner, &url, &prefix).await;
        case(&store).await;
        assert_eq!(store.redis_failures(), 0, "{name}: a Redis call failed");
        assert_eq!(
            !prefix.keys().unwrap().is_empty(),
            leaves,
            "{name}: keys in Redis"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_on_one_node_is_not_served_from_cache_on_another() {
    let Some(TwoNodes { a, b, shared }) = two_nodes().await else {
        return;
    };
    let prefix = &shared.prefix;
    let alice = user(&a, "alice", 1).await;
    let bob = user(&a, "bob", 2).await;
    let mut secrets = Vec::new();
    for n in 10..16 {
        let owner = if n == 15 { &bob } else { &alice };
        secrets.push(session(&a, owner, n).await);
    }
    // b caches them all (and a hit is served from Redis).
    for (secret, _) in &secrets {
        assert!(live(&b, secret).await);
        assert!(prefix.exists(&cache_key(secret)));
        assert!(live(&b, secret).await);
    }
    // Logout (by secret), end by handle as owner and as administrator.
    a.delete_session_by_secret(&secrets[0].0.hash(), at(1))
        .await
        .unwrap();
    assert!(!live(&b, &secrets[0].0).await);
    a.delete_session(&secrets[1].1.handle, Some(alice.id), at(1))
        .await
        .unwrap();
    assert!(!live(&b, &secrets[1].0).await);
    a.delete_session(&secrets[5].1.handle, None, at(1))
        .await
        .unwrap();
    assert!(!live(&b, &secrets[5].0).await);
    // A password change keeps one session; log out everywhere ends the rest.
    let keep = Keep {
        session: Some(&secrets[2].1.handle),
        family: None,
    };
    let new_hash = PasswordHash::from_stored("$argon2id$new".into());
    let ended = a
        .replace_password(alice.id, &new_hash, keep, at(2))
        .await
        .unwrap();
    assert_eq!(ended.sessions.len(), 2);
    assert!(live(&b, &secrets[2].0).await);
    assert!(!live(&b, &secrets[3].0).await && !live(&b, &secrets[4].0).await);
    a.end_user_sessions(alice.id, Keep::default(), at(3), true)
        .await
        .unwrap();
    assert!(!live(&b, &secrets[2].0).await);
    assert_eq!(a.redis_failures() + b.redis_failures(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_touch_on_one_node_is_seen_by_another() {
    let Some(TwoNodes {
        a,
        b,
        shared: _shared,
    }) = two_nodes().await
    else {
        return;
    };
    let alice = user(&a, "alice", 1).await;
    let (secret, _) = session(&a, &alice, 10).await;
    assert!(live(&b, &secret).await);
    a.touch_session(&secret.hash(), t(5 * 60_000), t(35 * 60_000))
        .await
        .unwrap();
    let (s, _) = b.session_by_secret(&secret.hash()).await.unwrap().unwrap();
    assert_eq!(
        (s.last_seen_at, s.idle_expires_at),
        (t(5 * 60_000), t(35 * 60_000))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_counts_are_shared_between_nodes_and_kept_in_redis() {
    let Some(TwoNodes { a, b, shared }) = two_nodes().await else {
        return;
    };
    let (inner, prefix) = (&shared.inner, &shared.prefix);
    let key = "acct:alice";
    for i in 0..3 {
        a.record_failure(key, 15 * MIN, t(i)).await.unwrap();
    }
    let w = b.record_failure(key, 15 * MIN, t(10)).await.unwrap();
    assert_eq!((w.count, w.started_at), (4, t(0)));
    // Concurrent failures on both nodes are all counted.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let node = if i % 2 == 0 { &a } else { &b };
            node.record_failure(key, 15 * MIN, t(20))
        })
        .collect();
    for r in join_all(tasks).await {
        r.unwrap();
    }
    assert_eq!(a.failures(key).await.unwrap().unwrap().count, 44);
    b.forgive_failure(key).await.unwrap();
    assert_eq!(a.failures(key).await.unwrap().unwrap().count, 43);
    // Counted in Redis, not in the durable store.
    assert_eq!(inner.failures(key).await.unwrap(), None);
    assert!(prefix.exists("fail:acct:alice"));
    a.clear_failures(key).await.unwrap();
    assert_eq!(b.failures(key).await.unwrap(), None);
    assert_eq!(a.redis_failures() + b.redis_failures(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_wakes_another_within_100_ms() {
    let Some(TwoNodes {
        a,
        b,
        shared: _shared,
    }) = two_nodes().await
    else {
        return;
    };
    let (wake, mut woken) = tokio::sync::mpsc::channel(16);
    b.watch_revocations(wake).await;
    // The wake-up that follows subscribing: b now hears announcements.
    tokio::time::timeout(Duration::from_secs(5), woken.recv())
        .await
        .expect("subscribed")
        .unwrap();

    let alice = user(&a, "alice", 1).await;
    let (secret, _) = session(&a, &alice, 10).await;
    let entry = Revocation {
        target: Target::Jti("j1".into()),
        at: t(0),
        expires_at: t(60_000),
    };
    while woken.try_recv().is_ok() {}
    let start = Instant::now();
    a.add_revocations(&[entry]).await.unwrap();
    woken_within_100_ms(&mut woken, start).await;

    while woken.try_recv().is_ok() {}
    let start = Instant::now();
    a.delete_session_by_secret(&secret.hash(), at(1))
        .await
        .unwrap();
    woken_within_100_ms(&mut woken, start).await;
    b.close().await;
}

async fn woken_within_100_ms(woken: &mut tokio::sync::mpsc::Receiver<()>, start: Instant) {
    tokio::time::timeout(Duration::from_millis(100), woken.recv())
        .await
        .expect("woken within 100 ms")
        .unwrap();
    assert!(start.elapsed() < Duration::from_millis(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_subscription_is_remade_and_wakes_the_poll() {
    let Some(url) = configured_url() else { return };
    let prefix = Prefix::new(&url);
    let (_dir, inner) = sqlite().await;
    let proxy = Proxy::start(&url).await;
    let a = node(&inner, &url, &prefix).await;
    let b = node(&inner, &proxy.url, &prefix).await;
    let (wake, mut woken) = tokio::sync::mpsc::channel(16);
    b.watch_revocations(wake).await;
    let subscribed = Duration::from_secs(10);
    tokio::time::timeout(subscribed, woken.recv())
        .await
        .expect("subscribed")
        .unwrap();
    proxy.cut();
    proxy.restore();
    // Resubscribed: a wake-up for whatever was missed meanwhile…
    tokio::time::timeout(subscribed, woken.recv())
        .await
        .expect("resubscribed")
        .unwrap();
    // …and announcements arrive again.
    while woken.try_recv().is_ok() {}
    let start = Instant::now();
    let entry = Revocation {
        target: Target::Jti("j1".into()),
        at: t(0),
        expires_at: t(60_000),
    };
    a.add_revocations(&[entry]).await.unwrap();
    woken_within_100_ms(&mut woken, start).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_redis_distrusts_the_cache_and_others_honour_the_revocation() {
    let Some(url) = configured_url() else { return };
    let prefix = Prefix::new(&url);
    let (_dir, inner) = sqlite().await;
    let proxy = Proxy::start(&url).await;
    let a = node(&inner, &proxy.url, &prefix).await;
    let b = node(&inner, &url, &prefix).await;
    let alice = user(&a, "alice", 1).await;
    let (secret, _) = session(&a, &alice, 10).await;
    assert!(live(&a, &secret).await);
    assert!(prefix.exists(&cache_key(&secret)));

    // a loses Redis, then ends the session: the durable write succeeds, the
    // cache entry cannot be deleted.
    proxy.cut();
    a.delete_session_by_secret(&secret.hash(), at(1))
        .await
        .unwrap();
    assert!(a.redis_failures() > 0);
    assert!(
        prefix.exists(&cache_key(&secret)),
        "the stale entry remains"
    );

    // Redis is back, and a uses it again (its counters land there)…
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        a.record_failure("probe", MIN, t(0)).await.unwrap();
        if inner.failures("probe").await.unwrap().is_none() {
            break;
        }
        inner.clear_failures("probe").await.unwrap();
        assert!(Instant::now() < deadline, "a never used Redis again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // …but not its session cache, which may hold what it failed to delete.
    assert!(prefix.exists(&cache_key(&secret)));
    assert!(!live(&a, &secret).await);

    // b never lost Redis: until the revocation reaches it, its cache still
    // has the entry (this is the window the revocation poll closes)…
    assert!(live(&b, &secret).await);
    // …and once its revocation poll has read it, b refuses the session.
    b.revocations_since(0, t(1)).await.unwrap();
    assert!(!live(&b, &secret).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_dead_redis_logins_logouts_and_counts_still_work_through_the_store() {
    let started = Instant::now();
    let (_dir, inner) = sqlite().await;
    let store = RedisCached::connect(inner.clone(), &dead_url(), "lkdead:".into(), real_clock())
        .await
        .expect("a dead Redis is not an error");
    assert_eq!(store.backend(), "sqlite+redis");
    store.ping().await.unwrap();
    let alice = user(&store, "alice", 1).await;
    let (secret, s) = session(&store, &alice, 10).await;
    let (found, name) = store
        .session_by_secret(&secret.hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, name), (s, alice.username.clone()));
    store
        .delete_session_by_secret(&secret.hash(), at(1))
        .await
        .unwrap();
    assert!(!live(&store, &secret).await);
    for i in 1..=2 {
        let w = store.record_failure("acct:alice", MIN, t(i)).await.unwrap();
        assert_eq!(w.count, u32::try_from(i).unwrap());
    }
    assert_eq!(
        store.failures("acct:alice").await.unwrap().unwrap().count,
        2
    );
    store.forgive_failure("acct:alice").await.unwrap();
    assert_eq!(
        store.failures("acct:alice").await.unwrap().unwrap().count,
        1
    );
    assert_eq!(
        inner.failures("acct:alice").await.unwrap().unwrap().count,
        1
    );
    store.clear_failures("acct:alice").await.unwrap();
    assert_eq!(store.failures("acct:alice").await.unwrap(), None);
    assert!(store.redis_failures() > 0, "Redis was tried");
    assert!(!store.redis_ping().await);
    // Slower, not stuck: the whole sequence stays well under a second a call.
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A TCP proxy to Redis that can be cut (open connections dropped, new
/// ones closed at once) and restored: a node losing Redis while others
/// keep it.
struct Proxy {
    url: String,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(url: &str) -> Self {
        let upstream = upstream_addr(url);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let (cut, open) = (cut.clone(), open.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        continue;
                    }
                    let relay = tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    open.lock().unwrap().push(relay.abort_handle());
                }
            }
        });
        Self {
            url: replace_addr(url, addr),
            cut,
            open,
            accept,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for relay in self.open.lock().unwrap().drain(..) {
            relay.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// `host:port` of a `redis://[auth@]host[:port][/db]` URL.
fn authority(url: &str) -> (usize, usize) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let start = url[start..].find('@').map_or(start, |i| start + i + 1);
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    (start, end)
}

fn upstream_addr(url: &str) -> SocketAddr {
    let (start, end) = authority(url);
    let host_port = &url[start..end];
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:6379")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&host_port)
        .unwrap()
        .next()
        .unwrap()
}

fn replace_addr(url: &str, addr: SocketAddr) -> String {
    let (start, end) = authority(url);
    format!("{}{addr}{}", &url[..start], &url[end..])
}

/// Runs futures concurrently on the current task.
async fn join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futs.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut out: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, result) in pending.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *result = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[path = "redis/regressions.rs"]
mod regressions;
