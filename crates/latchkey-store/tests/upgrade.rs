#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Upgrading a SQLite database that 0002 left, with data in it: 0003
//! rebuilds `users` (to let `password_hash` be NULL) and adds the
//! assurance columns, keeping every row and every reference to users.

use std::path::Path;

use latchkey_core::refresh::RefreshSecret;
use latchkey_core::{SessionSecret, Timestamp, UserId, Username};
use latchkey_store::sqlite::SqliteStore;
use latchkey_store::{Family, RefreshTokens as _, Sessions as _, StoreError, Users as _};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, Executor as _, Row as _, SqliteConnection};

const MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");

/// A database at `url` migrated to 0002 only, holding alice (a session, a
/// refresh family with its token) and bob.
async fn at_0002(dir: &Path, url: &str) {
    let old = dir.join("migrations");
    std::fs::create_dir(&old).unwrap();
    for name in ["0001_init.sql", "0002_tokens.sql"] {
        std::fs::copy(Path::new(MIGRATIONS).join(name), old.join(name)).unwrap();
    }
    let options = url
        .parse::<SqliteConnectOptions>()
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let mut conn = options.connect().await.unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    let alice = UserId::from_random([1; 16]).to_string();
    let bob = UserId::from_random([2; 16]).to_string();
    let session = SessionSecret::from_random([5; 32]).hash();
    let handle = latchkey_core::SessionHandle::from_random([6; 16]);
    let token = RefreshSecret::from_random([7; 32]).hash();
    for (id, name) in [(&alice, "alice"), (&bob, "bob")] {
        sqlx::query("INSERT INTO users VALUES ($1, $2, '$argon2id$v=19$m=19456,t=2,p=1$x', 10)")
            .bind(id)
            .bind(name)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO sessions (secret_hash, handle, user_id, created_at, last_seen_at, \
         idle_expires_at, absolute_expires_at, persistent) VALUES ($1, $2, $3, 1000, 1000, \
         9000000000000, 9000000000000, 0)",
    )
    .bind(session.as_bytes().as_slice())
    .bind(handle.as_str())
    .bind(&alice)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.execute(
        sqlx::query(
            "INSERT INTO refresh_families (id, user_id, created_at, expires_at) \
             VALUES ('fam-old', $1, 2000, 9000000000000)",
        )
        .bind(&alice),
    )
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
async fn upgrading_from_0002_keeps_rows_and_references() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    at_0002(dir.path(), &url).await;

    let store = SqliteStore::open(&url).await.expect("0003 applies");
    let alice = store
        .user_by_name(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .expect("alice kept");
    assert!(alice.password_hash.is_some());
    assert_eq!(alice.created_at, Timestamp::from_unix_millis(10));
    let secret = SessionSecret::from_random([5; 32]).hash();
    let (session, name) = store.session_by_secret(&secret).await.unwrap().unwrap();
    assert_eq!(name.as_str(), "alice");
    // Every sign-in before 0003 was a password, at the session's start.
    assert_eq!(session.assurance.amr, vec!["pwd".to_owned()]);
    assert_eq!(
        session.assurance.auth_time,
        Timestamp::from_unix_millis(1000)
    );
    let token = RefreshSecret::from_random([7; 32]).hash();
    let family = store.family_of(&token).await.unwrap().unwrap();
    assert_eq!(family.assurance.amr, vec!["pwd".to_owned()]);
    assert_eq!(
        family.assurance.auth_time,
        Timestamp::from_unix_millis(2000)
    );

    // References still point at users (the rebuilt table): a family for
    // nobody is refused, and a user's deletion still cascades.
    let orphan = Family {
        id: "fam-orphan".into(),
        user_id: UserId::from_random([9; 16]),
        created_at: Timestamp::from_unix_millis(0),
        expires_at: Timestamp::from_unix_millis(1),
        revoked_at: None,
        assurance: latchkey_core::Assurance::new(["pwd"], Timestamp::from_unix_millis(0)),
        kind: "tokens".into(),
        user_agent: None,
        ip: None,
        last_used_at: Timestamp::from_unix_millis(0),
    };
    let first = RefreshSecret::from_random([8; 32]).hash();
    let refused = store.create_family(&orphan, &first).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    store.close().await;

    let mut raw = SqliteConnection::connect(&url).await.unwrap();
    let schema: String = sqlx::query("SELECT sql FROM sqlite_schema WHERE name = 'users'")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get(0);
    assert!(schema.contains("password_hash TEXT,"), "{schema}");
    let broken = sqlx::query("SELECT * FROM pragma_foreign_key_check")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    assert!(broken.is_empty());
    raw.execute("PRAGMA foreign_keys = ON").await.unwrap();
    sqlx::query("DELETE FROM users WHERE username = 'alice'")
        .execute(&mut raw)
        .await
        .unwrap();
    for sql in [
        "SELECT COUNT(*) FROM sessions",
        "SELECT COUNT(*) FROM refresh_families",
        "SELECT COUNT(*) FROM refresh_tokens",
    ] {
        let n: i64 = sqlx::query(sql).fetch_one(&mut raw).await.unwrap().get(0);
        assert_eq!(n, 0, "{sql}: rows of a deleted user remain");
    }
    let users: i64 = sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 1, "bob is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_runs_with_foreign_keys_on_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    // Reopening applies nothing and still enforces references.
    store.close().await;
    let store = SqliteStore::open(&url).await.unwrap();
    let orphan = Family {
        id: "fam-orphan".into(),
        user_id: UserId::from_random([9; 16]),
        created_at: Timestamp::from_unix_millis(0),
        expires_at: Timestamp::from_unix_millis(1),
        revoked_at: None,
        assurance: latchkey_core::Assurance::new(["pwd"], Timestamp::from_unix_millis(0)),
        kind: "tokens".into(),
        user_agent: None,
        ip: None,
        last_used_at: Timestamp::from_unix_millis(0),
    };
    let first = RefreshSecret::from_random([8; 32]).hash();
    let refused = store.create_family(&orphan, &first).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
}
