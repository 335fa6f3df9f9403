#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The conformance suite on the embedded SQLite backend, each case on a
//! fresh database file.

use latchkey_store::conformance::{self, Fixture};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_an_unreadable_row_is_corrupt() {
    use sqlx::{Connection as _, Executor as _};
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("corrupt.db").display());
    let store = SqliteStore::open(&url).await.expect("open sqlite");
    let spoil = async {
        let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
        raw.execute(conformance::SPOIL_USER_IDS).await.unwrap();
    };
    conformance::errors_an_unreadable_row_is_corrupt(&store, spoil).await;
}
