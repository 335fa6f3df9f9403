//! `latchkey admin-keys create|list|revoke` against a running server.

use crate::server::{cli, start, temp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_key_from_the_cli_works_at_once_and_stops_when_revoked() {
    let (_dir, path) = temp();
    let server = start(&path);
    let made = cli(
        &path,
        &[
            "admin-keys",
            "create",
            "backoffice",
            "--scope",
            "users:read",
        ],
        None,
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let key = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    assert!(
        key.starts_with("lk_admin_"),
        "the key alone on stdout: {key}"
    );
    let note = String::from_utf8_lossy(&made.stderr);
    assert!(
        note.contains("shown only now") && !note.contains(&key),
        "{note}"
    );

    let http = reqwest::Client::new();
    let users = |key: String| {
        let http = http.clone();
        let url = format!("{}/admin/v1/users", server.base);
        async move {
            http.get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(users(key.clone()).await, 200);

    let listed = cli(&path, &["admin-keys", "list"], None);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("backoffice") && listed.contains("users:read"),
        "{listed}"
    );
    assert!(!listed.contains(&key), "a listing never shows a key");

    let bad = cli(
        &path,
        &["admin-keys", "create", "other", "--scope", "root"],
        None,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Unknown scope"));

    let revoked = cli(&path, &["admin-keys", "revoke", "backoffice"], None);
    assert!(revoked.status.success());
    assert_eq!(users(key).await, 401);
    let again = cli(&path, &["admin-keys", "revoke", "backoffice"], None);
    assert_eq!(again.status.code(), Some(1));
}
