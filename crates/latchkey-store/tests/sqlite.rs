#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The conformance suite on the embedded SQLite backend, each case on a
//! fresh database file.

use latchkey_store::conformance::Fixture;
use latchkey_store::sqlite::SqliteStore;

async fn fresh() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
    let store = SqliteStore::open(&url).await.expect("open sqlite");
    Fixture {
        store: Box::new(store),
        guard: Box::new(dir),
    }
}

latchkey_store::conformance_suite!(fresh());
