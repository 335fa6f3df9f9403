#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The conformance suite on PostgreSQL, plus what only a shared database
//! can show: two nodes (two pools) working on the same rows at once.
//!
//! Runs against the database named by `LATCHKEY_TEST_POSTGRES_URL`
//! (`postgres://postgres@127.0.0.1:5432/test`); each test gets its own
//! empty schema, reached through `search_path`, and drops it afterwards.
//! Without the variable (or with it empty) every test passes without
//! running, and the run says so once on stderr. With it, an unreachable
//! server fails every test.

use std::collections::HashSet;
use std::hash::{BuildHasher as _, RandomState};
use std::io::Write as _;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use latchkey_core::refresh::{RefreshHash, RefreshSecret};
use latchkey_core::revocation::{Revocation, Target};
use latchkey_core::{PasswordHash, Timestamp, UserId, Username};
use latchkey_store::conformance::{self, Fixture};
use latchkey_store::postgres::PgStore;
use latchkey_store::{Family, KeyRecord, RefreshOutcome, RevokeAt, User};
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, PgConnection};

const VAR: &str = "LATCHKEY_TEST_POSTGRES_URL";

/// The server to test against, or `None` (said once per run) to skip.
fn configured_url() -> Option<String> {
    static SKIP: Once = Once::new();
    match std::env::var(VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        Err(std::env::VarError::NotUnicode(_)) => panic!("{VAR} is not valid UTF-8"),
        _ => {
            // Straight to stderr, past the test harness's capture, so the
            // skip is visible in a normal `cargo test` run.
            SKIP.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: set {VAR} to run the PostgreSQL conformance suite"
                );
            });
            None
        }
    }
}

/// A schema of its own for one test; dropped (with everything in it) when
/// this is dropped.
struct Schema {
    admin_url: String,
    name: String,
}

impl Schema {
    async fn create(admin_url: String) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "lk_test_{}_{:016x}_{}",
            std::process::id(),
            RandomState::new().hash_one(0u8),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{VAR} is set but PostgreSQL is unreachable: {e}"));
        admin
            .execute(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .await
            .expect("create test schema");
        let _ = admin.close().await;
        Self { admin_url, name }
    }

    /// The server URL with this schema as the only one searched.
    fn url(&self) -> String {
        let sep = if self.admin_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            self.admin_url, self.name
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Drop cannot await, and may run on a runtime worker: do the work
        // on a thread of its own with a runtime of its own. Best effort.
        let url = self.admin_url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut c = PgConnection::connect(&url)
                    .await
                    .map_err(|e| e.to_string())?;
                c.execute("SET lock_timeout = '10s'")
                    .await
                    .map_err(|e| e.to_string())?;
                c.execute(AssertSqlSafe(sql))
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = c.close().await;
                Ok::<_, String>(())
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "warning: could not drop test schema {}: {done:?}",
                self.name
            );
        }
    }
}

async fn schema() -> Option<Schema> {
    Some(Schema::create(configured_url()?).await)
}

async fn fresh() -> Option<Fixture> {
    let schema = schema().await?;
    let store = PgStore::open(&schema.url()).await.expect("open postgres");
    Some(Fixture {
        store: Box::new(store),
        guard: Box::new(schema),
    })
}

latchkey_store::conformance_suite!(fresh());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_an_unreadable_row_is_corrupt() {
    let Some(schema) = schema().await else { return };
    let store = PgStore::open(&schema.url()).await.expect("open postgres");
    let spoil = async {
        let mut raw = PgConnection::connect(&schema.url()).await.unwrap();
        raw.execute(conformance::SPOIL_USER_IDS).await.unwrap();
    };
    conformance::errors_an_unreadable_row_is_corrupt(&store, spoil).await;
}

/// Two stores on one schema: two nodes of a cluster.
async fn two_nodes() -> Option<(Schema, PgStore, PgStore)> {
    let schema = schema().await?;
    let a = PgStore::open(&schema.url()).await.expect("open node a");
    let b = PgStore::open(&schema.url()).await.expect("open node b");
    Some((schema, a, b))
}

const T0: i64 = 1_800_000_000_000;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}

fn at(ms: i64) -> RevokeAt<'static> {
    RevokeAt::new(t(ms), Duration::from_secs(300))
}

fn token(n: u8) -> RefreshHash {
    RefreshSecret::from_random([n; 32]).hash()
}

async fn alice_with_family(store: &PgStore) -> RefreshHash {
    use latchkey_store::{RefreshTokens as _, Users as _};
    let alice = User {
        id: UserId::from_random([1; 16]),
        username: Username::parse("alice").unwrap(),
        password_hash: Some(PasswordHash::from_stored(
            "$argon2id$v=19$m=19456,t=2,p=1$x".into(),
        )),
        created_at: t(0),
        disabled_at: None,
    };
    store.create_user(&alice).await.unwrap();
    let family = Family {
        id: "fam-1".into(),
        user_id: alice.id,
        created_at: t(0),
        expires_at: t(3_600_000),
        revoked_at: None,
        assurance: latchkey_core::Assurance::new(["pwd"], t(0)),
        kind: "tokens".into(),
        user_agent: None,
        ip: None,
        last_used_at: t(0),
    };
    store.create_family(&family, &token(1)).await.unwrap();
    token(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_on_two_nodes_rotate_exactly_once() {
    use latchkey_store::RefreshTokens as _;
    let Some((_schema, a, b)) = two_nodes().await else {
        return;
    };
    let first = *alice_with_family(&a).await.as_bytes();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let node = if i % 2 == 0 { a.clone() } else { b.clone() };
            let first = RefreshHash::from_bytes(first);
            tokio::spawn(async move {
                node.refresh(&first, &token(2), at(5), Duration::from_secs(10))
                    .await
            })
        })
        .collect();
    let mut rotated = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            RefreshOutcome::Rotated { .. } => rotated += 1,
            RefreshOutcome::Grace { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(rotated, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_key_on_two_nodes_is_stored_once() {
    use latchkey_store::Keys as _;
    let Some((_schema, a, b)) = two_nodes().await else {
        return;
    };
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let node = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let key = KeyRecord {
                    kid: format!("k{i}"),
                    alg: "EdDSA".into(),
                    private: vec![1, 2, 3],
                    sealed: false,
                    created_at: t(0),
                    retired_at: None,
                    not_after: None,
                };
                node.add_first_key(&key).await
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        stored += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(stored, 1);
    assert_eq!(a.keys().await.unwrap().len(), 1);
}

/// Regression guard for the revocation cursor: with concurrent writers,
/// an entry whose `seq` is below one already read must not commit later,
/// or a polling node would never see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_from_two_nodes_all_reach_a_polling_node() {
    use latchkey_store::Revocations as _;
    let Some((_schema, a, b)) = two_nodes().await else {
        return;
    };
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let node = if w % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                for i in 0..50 {
                    let entry = Revocation {
                        target: Target::Jti(format!("{w}-{i}")),
                        at: t(0),
                        expires_at: t(60_000),
                    };
                    node.add_revocations(&[entry]).await.unwrap();
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut cursor = 0;
    loop {
        // Decide before reading, so the last read follows every write.
        let finished = writers.iter().all(tokio::task::JoinHandle::is_finished);
        let (batch, next) = a.revocations_since(cursor, t(0)).await.unwrap();
        seen.extend(batch.into_iter().map(|r| r.target));
        cursor = next;
        if finished {
            break;
        }
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(seen.len(), 200);
}

/// A revocation committed on one node wakes another node's watcher through
/// NOTIFY (the store itself has no poll: without NOTIFY nothing wakes it).
/// The channel is database-wide, so other tests on the same database may
/// wake the watcher too; this can pass for that reason, never fail for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_notifies_another() {
    use latchkey_store::{RefreshTokens as _, Revocations as _, Store as _};
    let Some((_schema, a, b)) = two_nodes().await else {
        return;
    };
    let (wake, mut woken) = tokio::sync::mpsc::channel(16);
    b.watch_revocations(wake).await;
    let bound = Duration::from_secs(10);
    // The wake-up that follows LISTEN: b now hears notifications.
    tokio::time::timeout(bound, woken.recv())
        .await
        .expect("listening")
        .unwrap();
    let entry = Revocation {
        target: Target::Jti("j1".into()),
        at: t(0),
        expires_at: t(60_000),
    };
    a.add_revocations(&[entry]).await.unwrap();
    tokio::time::timeout(bound, woken.recv())
        .await
        .expect("notified of add_revocations")
        .unwrap();
    // Inside a transaction that ends something, too.
    alice_with_family(&a).await;
    while woken.try_recv().is_ok() {}
    a.revoke_family("fam-1", at(1)).await.unwrap();
    tokio::time::timeout(bound, woken.recv())
        .await
        .expect("notified of revoke_family")
        .unwrap();
    b.close().await;
}
