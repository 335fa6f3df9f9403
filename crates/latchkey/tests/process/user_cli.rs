//! `latchkey user passwd|list|disable|enable|delete` (and the events they
//! record), the sessions listing with usernames, and usage errors that
//! name what is missing.

use crate::server::{BIN, cli, login, session_status, start, temp};

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const PW: &str = "a long enough password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sets_a_password_disables_enables_and_deletes_from_the_shell() {
    let (_dir, path) = temp();
    for name in ["carol", "dave"] {
        let added = cli(
            &path,
            &["user", "add", name, "--password-stdin"],
            Some(&format!("{PW}\n")),
        );
        assert!(added.status.success(), "{}", err(&added));
    }
    let server = start(&path);
    let http = reqwest::Client::new();
    let cookie = login(&http, &server.base, "carol", PW).await;

    let listed = cli(&path, &["sessions", "list"], None);
    assert!(
        out(&listed).contains("carol"),
        "sessions name their user: {}",
        out(&listed)
    );

    let set = cli(
        &path,
        &["user", "passwd", "carol", "--password-stdin"],
        Some("another long password\n"),
    );
    assert!(set.status.success(), "{}", err(&set));
    assert!(
        out(&set).contains("ended 1 session and 0 token families"),
        "{}",
        out(&set)
    );
    let mut ended = false;
    for _ in 0..60 {
        if session_status(&http, &server.base, &cookie.cookie).await == 401 {
            ended = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ended, "the running server ends the session");
    login(&http, &server.base, "carol", "another long password").await;

    let disabled = cli(&path, &["user", "disable", "dave"], None);
    assert!(disabled.status.success(), "{}", err(&disabled));
    let users = cli(&path, &["user", "list", "--json"], None);
    let lines: Vec<serde_json::Value> = out(&users)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["username"], "dave");
    assert_eq!(lines[1]["disabled"], true);
    let r = http
        .post(format!("{}/v1/session/login", server.base))
        .json(&serde_json::json!({"username": "dave", "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a disabled user cannot sign in");
    assert!(
        cli(&path, &["user", "enable", "dave"], None)
            .status
            .success()
    );
    login(&http, &server.base, "dave", PW).await;

    let deleted = cli(&path, &["user", "delete", "dave"], None);
    assert!(deleted.status.success(), "{}", err(&deleted));
    let gone = cli(&path, &["user", "disable", "dave"], None);
    assert_eq!(gone.status.code(), Some(1));
    assert!(err(&gone).contains("no user named dave"));
    let table = out(&cli(&path, &["user", "list"], None));
    assert!(
        table.contains("carol") && !table.contains("dave"),
        "{table}"
    );

    // Each change is in the audit trail, written with it, as the CLI's.
    let events = out(&cli(&path, &["events"], None));
    let events: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["detail"]["via"] == "cli")
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "password.changed",
            "user.disabled",
            "user.enabled",
            "admin.user_deleted"
        ],
        "{events:?}"
    );
    assert_eq!(events[0]["detail"]["sessions_ended"], 1);
    assert_eq!(events[3]["detail"]["username"], "dave");
    assert!(events.iter().all(|e| e["ip"].is_null()));
}

#[test]
fn a_missing_argument_is_named_on_the_one_line() {
    let o = std::process::Command::new(BIN)
        .args(["user", "passwd"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(
        e.contains("<NAME>") && e.contains("--password-stdin"),
        "{e}"
    );
}
