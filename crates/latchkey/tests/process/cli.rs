//! The command line: `user add`, `sessions list|revoke`, errors.

use crate::server::{BIN, cli, login, session_status, start, start_with_env, temp};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_add_creates_a_user_who_can_log_in() {
    let (_dir, path) = temp();
    let out = cli(
        &path,
        &["user", "add", "Carol", "--password-stdin"],
        Some("a long enough password\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("created user carol"));
    let server = start(&path);
    let http = reqwest::Client::new();
    // The trailing newline is not part of the password.
    login(&http, &server.base, "carol", "a long enough password").await;
    let again = cli(
        &path,
        &["user", "add", "carol", "--password-stdin"],
        Some("another password\n"),
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already exists"));
}

#[test]
fn user_add_applies_the_password_policy() {
    let (_dir, path) = temp();
    let out = cli(
        &path,
        &["user", "add", "dave", "--password-stdin"],
        Some("short\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("at least 8"), "{}", stderr(&out));
    let out = cli(
        &path,
        &["user", "add", "dave"],
        Some("long enough password\n"),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "the password never comes from argv"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_list_and_revoke_by_id_and_by_user() {
    let (_dir, path) = temp();
    let out = cli(
        &path,
        &["user", "add", "erin", "--password-stdin"],
        Some("correct horse battery\n"),
    );
    assert!(out.status.success());
    let server = start(&path);
    let http = reqwest::Client::new();
    let a = login(&http, &server.base, "erin", "correct horse battery").await;
    let b = login(&http, &server.base, "erin", "correct horse battery").await;
    let c = login(&http, &server.base, "erin", "correct horse battery").await;

    let out = cli(
        &path,
        &["sessions", "list", "--user", "erin", "--json"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 3);
    for s in &listed {
        let id = s["id"].as_str().unwrap();
        assert!(
            ![&a.cookie, &b.cookie, &c.cookie]
                .iter()
                .any(|c| c.contains(id) || id.contains(c.as_str()))
        );
    }
    let table = cli(&path, &["sessions", "list"], None);
    assert!(stdout(&table).starts_with("ID"));
    assert_eq!(stdout(&table).lines().count(), 4);

    // Revoke one by id: exactly one session of the three stops working.
    let id = listed[0]["id"].as_str().unwrap();
    let out = cli(&path, &["sessions", "revoke", id], None);
    assert!(out.status.success(), "{}", stderr(&out));
    // A running server learns of the CLI's revocations within a second (it
    // may serve the session from memory until then); wait, bounded.
    let mut codes = Vec::new();
    for _ in 0..50 {
        codes.clear();
        for l in [&a, &b, &c] {
            codes.push(session_status(&http, &server.base, &l.cookie).await);
        }
        codes.sort_unstable();
        if codes == [200, 200, 401] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(codes, vec![200, 200, 401]);
    let again = cli(&path, &["sessions", "revoke", id], None);
    assert_eq!(again.status.code(), Some(1));

    let out = cli(&path, &["sessions", "revoke", "--user", "erin"], None);
    assert!(out.status.success());
    assert!(stdout(&out).contains("ended 2 sessions"));
    for l in [&a, &b, &c] {
        let mut code = 0;
        for _ in 0..50 {
            code = session_status(&http, &server.base, &l.cookie).await;
            if code == 401 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(code, 401);
    }
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    for args in [
        vec!["serve", "--bogus"],
        vec!["frobnicate"],
        vec!["sessions", "revoke"],
        vec!["sessions", "revoke", "--user", "x", "someid"],
    ] {
        let out = std::process::Command::new(BIN)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["user", "add", "--help"],
        vec!["sessions", "list", "--help"],
        vec!["sessions", "revoke", "--help"],
    ] {
        let out = std::process::Command::new(BIN)
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(stdout(&out).contains("Usage"), "{args:?}");
    }
}

#[test]
fn a_bad_config_reports_every_problem_and_exits_2() {
    let (_dir, path) = temp();
    let cfg = path.join("latchkey.toml");
    std::fs::write(
        &cfg,
        "listen = 5\ncolour = \"blue\"\n[sessions]\nidle_timeout = \"often\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env_clear()
        .env("LATCHKEY_LOGIN_LIMITS__PER_ACCOUNT", "-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for needle in [
        "`listen`",
        "unknown key `colour`",
        "`sessions.idle_timeout`",
        "`login_limits.per_account`",
    ] {
        assert!(err.contains(needle), "{needle} missing from {err}");
    }
}

/// The variables Kubernetes sets for a Service named `latchkey` (and a
/// test suite's switches) used to stop start-up as unknown keys: the
/// server now starts, serves, and names them once in a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i16_kubernetes_service_variables_do_not_stop_start_up() {
    let (_dir, path) = temp();
    let server = start_with_env(
        &path,
        &[
            ("LATCHKEY_PORT", "tcp://10.0.0.7:8080"),
            ("LATCHKEY_SERVICE_HOST", "10.0.0.7"),
            ("LATCHKEY_TEST_CHROMIUM", "1"),
        ],
    );
    let r = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let logs = server.logs.lock().unwrap().clone();
    let warnings: Vec<_> = logs
        .iter()
        .filter(|l| l.contains("not configuration keys"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning: {logs:?}");
    for name in [
        "LATCHKEY_PORT",
        "LATCHKEY_SERVICE_HOST",
        "LATCHKEY_TEST_CHROMIUM",
    ] {
        assert!(warnings[0].contains(name), "{name} named: {}", warnings[0]);
    }
    assert!(!warnings[0].contains("10.0.0.7"), "values are not logged");
}

/// Session ids are base64url and one in 64 starts with `-`: the CLI read
/// such an id as an unknown flag (a usage error) instead of an id.
#[test]
fn i16_a_session_id_starting_with_a_hyphen_is_read_as_an_id() {
    let (_dir, path) = temp();
    let out = cli(
        &path,
        &["sessions", "revoke", "-AbCdEfGhIjKlMnOpQrStUv"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no session or login with id -AbCdEf"),
        "{}",
        stderr(&out)
    );
    let out = cli(&path, &["sessions", "revoke", "--user", "nobody"], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "--user is still a flag: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("no user named nobody"),
        "{}",
        stderr(&out)
    );
}
