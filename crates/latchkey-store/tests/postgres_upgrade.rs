#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Upgrading a PostgreSQL schema that migration 0002 left, with data in
//! it: 0003 lets `password_hash` be NULL and adds the assurance columns,
//! keeping every row. Runs with `LATCHKEY_TEST_POSTGRES_URL`, in a schema
//! of its own (dropped afterwards); passes without running otherwise.

use std::path::Path;

use latchkey_core::refresh::RefreshSecret;
use latchkey_core::{SessionSecret, Timestamp, UserId, Username};
use latchkey_store::postgres::PgStore;
use latchkey_store::{RefreshTokens as _, Sessions as _, User, Users as _};
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, PgConnection};

const MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");

/// Drops the schema when the test ends, however it ends.
struct Dropped(String, String);

impl Drop for Dropped {
    fn drop(&mut self) {
        let (url, sql) = (self.0.clone(), format!("DROP SCHEMA {} CASCADE", self.1));
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut c = PgConnection::connect(&url).await.unwrap();
                let _ = c.execute(AssertSqlSafe(sql)).await;
            });
        })
        .join();
    }
}

/// Migrations 0001 and 0002 applied on `url`, then alice with a session
/// and a refresh family.
async fn at_0002(dir: &Path, url: &str) {
    for name in ["0001_init.sql", "0002_tokens.sql"] {
        std::fs::copy(Path::new(MIGRATIONS).join(name), dir.join(name)).unwrap();
    }
    let mut conn = PgConnection::connect(url).await.unwrap();
    let old = sqlx::migrate::Migrator::new(dir).await.unwrap();
    old.run(&mut conn).await.unwrap();
    let alice = UserId::from_random([1; 16]).to_string();
    let session = SessionSecret::from_random([5; 32]).hash();
    let handle = latchkey_core::SessionHandle::from_random([6; 16]);
    let token = RefreshSecret::from_random([7; 32]).hash();
    sqlx::query("INSERT INTO users VALUES ($1, 'alice', '$argon2id$v=19$m=19456,t=2,p=1$x', 10)")
        .bind(&alice)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO sessions (secret_hash, handle, user_id, created_at, last_seen_at, \
         idle_expires_at, absolute_expires_at, persistent) VALUES ($1, $2, $3, 1000, 1000, \
         9000000000000, 9000000000000, FALSE)",
    )
    .bind(session.as_bytes().as_slice())
    .bind(handle.as_str())
    .bind(&alice)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO refresh_families (id, user_id, created_at, expires_at) \
         VALUES ('fam-old', $1, 2000, 9000000000000)",
    )
    .bind(&alice)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, family_id, issued_at) VALUES ($1, 'fam-old', 2000)",
    )
    .bind(token.as_bytes().as_slice())
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_from_0002_keeps_rows_and_allows_accounts_without_a_password() {
    let Ok(base) = std::env::var("LATCHKEY_TEST_POSTGRES_URL") else {
        eprintln!("skipped: set LATCHKEY_TEST_POSTGRES_URL");
        return;
    };
    let name = format!("lk_upgrade_{}", std::process::id());
    let mut admin = PgConnection::connect(&base).await.unwrap();
    admin
        .execute(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .await
        .unwrap();
    let _dropped = Dropped(base.clone(), name.clone());
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
    let dir = tempfile::tempdir().unwrap();
    at_0002(dir.path(), &url).await;

    let store = PgStore::open(&url).await.expect("0003 applies");
    let alice = store
        .user_by_name(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .expect("alice kept");
    assert!(alice.password_hash.is_some());
    let secret = SessionSecret::from_random([5; 32]).hash();
    let (session, _) = store.session_by_secret(&secret).await.unwrap().unwrap();
    assert_eq!(session.assurance.amr, ["pwd"]);
    assert_eq!(
        session.assurance.auth_time,
        Timestamp::from_unix_millis(1000)
    );
    let token = RefreshSecret::from_random([7; 32]).hash();
    let family = store.family_of(&token).await.unwrap().unwrap();
    assert_eq!(family.assurance.amr, ["pwd"]);
    assert_eq!(
        family.assurance.auth_time,
        Timestamp::from_unix_millis(2000)
    );
    let keyholder = User {
        id: UserId::from_random([2; 16]),
        username: Username::parse("keyholder").unwrap(),
        password_hash: None,
        created_at: Timestamp::from_unix_millis(20),
        disabled_at: None,
    };
    store.create_user(&keyholder).await.unwrap();
    assert_eq!(
        store.user_by_id(keyholder.id).await.unwrap(),
        Some(keyholder)
    );
    store.close().await;
}
