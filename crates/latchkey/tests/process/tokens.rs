//! Bearer tokens across restarts and processes: revocations persist, the
//! CLI's revocations reach a running server, key rotation keeps old tokens
//! valid.

use std::time::Duration;

use serde_json::{Value, json};

use crate::server::{cli, login, register, start, temp};

async fn token_login(http: &reqwest::Client, base: &str, name: &str, pw: &str) -> Value {
    let res = http
        .post(format!("{base}/v1/token/login"))
        .json(&json!({"username": name, "password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn me_status(http: &reqwest::Client, base: &str, token: &str) -> u16 {
    http.get(format!("{base}/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_survive_a_restart() {
    let (_dir, path) = temp();
    let http = reqwest::Client::new();
    let server = start(&path);
    register(&http, &server.base, "alice", "correct horse battery").await;
    let revoked = token_login(&http, &server.base, "alice", "correct horse battery").await;
    let everywhere = token_login(&http, &server.base, "alice", "correct horse battery").await;
    let at = revoked["access_token"].as_str().unwrap();
    let res = http
        .post(format!("{}/v1/token/revoke", server.base))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(me_status(&http, &server.base, at).await, 401);
    // Log out everywhere through a cookie session revokes bearer tokens too.
    let l = login(&http, &server.base, "alice", "correct horse battery").await;
    let res = http
        .delete(format!("{}/v1/sessions", server.base))
        .header("cookie", format!("__Host-lk_session={}", l.cookie))
        .header("x-csrf-token", &l.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let other = everywhere["access_token"].as_str().unwrap();
    assert_eq!(me_status(&http, &server.base, other).await, 401);
    server.kill9();

    let server = start(&path);
    assert_eq!(me_status(&http, &server.base, at).await, 401);
    assert_eq!(me_status(&http, &server.base, other).await, 401);
    // A fresh login after all that works.
    let fresh = token_login(&http, &server.base, "alice", "correct horse battery").await;
    let token = fresh["access_token"].as_str().unwrap();
    assert_eq!(me_status(&http, &server.base, token).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_revocation_reaches_the_running_server() {
    let (_dir, path) = temp();
    let http = reqwest::Client::new();
    let server = start(&path);
    register(&http, &server.base, "bob", "correct horse battery").await;
    let pair = token_login(&http, &server.base, "bob", "correct horse battery").await;
    let at = pair["access_token"].as_str().unwrap();
    assert_eq!(me_status(&http, &server.base, at).await, 200);
    let out = cli(&path, &["sessions", "revoke", "--user", "bob"], None);
    assert!(out.status.success());
    // The server reads new revocations every second; wait for it (bounded).
    let mut refused = false;
    for _ in 0..50 {
        if me_status(&http, &server.base, at).await == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the CLI's revocation never reached the server");
    let res = http
        .post(format!("{}/v1/token/refresh", server.base))
        .json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the refresh family is revoked too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_keeps_old_tokens_valid_and_publishes_both_keys() {
    let (_dir, path) = temp();
    let http = reqwest::Client::new();
    let server = start(&path);
    register(&http, &server.base, "carol", "correct horse battery").await;
    let old = token_login(&http, &server.base, "carol", "correct horse battery").await;
    let old_at = old["access_token"].as_str().unwrap().to_owned();
    server.kill9();

    let out = cli(&path, &["keys", "rotate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&cli(&path, &["keys", "list"], None).stdout).into_owned();
    assert_eq!(listed.matches("current").count(), 1, "{listed}");
    assert_eq!(listed.matches("retired").count(), 1, "{listed}");

    let server = start(&path);
    assert_eq!(me_status(&http, &server.base, &old_at).await, 200);
    let new = token_login(&http, &server.base, "carol", "correct horse battery").await;
    let new_at = new["access_token"].as_str().unwrap();
    assert_ne!(kid_of(new_at), kid_of(&old_at));
    let jwks: Value = http
        .get(format!("{}/.well-known/jwks.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&kid_of(&old_at).as_str()));
    assert!(kids.contains(&kid_of(new_at).as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_key_seals_signing_keys_and_is_then_required() {
    let (_dir, path) = temp();
    let master = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let http = reqwest::Client::new();
    let server = crate::server::start_with_env(&path, &[("LATCHKEY_MASTER_KEY", master)]);
    register(&http, &server.base, "dan", "correct horse battery").await;
    let pair = token_login(&http, &server.base, "dan", "correct horse battery").await;
    let logs = server.logs.lock().unwrap().join("\n");
    assert!(!logs.contains("LATCHKEY_MASTER_KEY is not set"));
    server.kill9();

    // Without the master key the server refuses to start, saying why.
    let out = std::process::Command::new(crate::server::BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &crate::server::db_url(&path),
        ])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LATCHKEY_MASTER_KEY"));

    // With it, tokens issued before still verify.
    let server = crate::server::start_with_env(&path, &[("LATCHKEY_MASTER_KEY", master)]);
    let at = pair["access_token"].as_str().unwrap();
    assert_eq!(me_status(&http, &server.base, at).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_master_key_the_server_warns() {
    let (_dir, path) = temp();
    let server = start(&path);
    let logs = server.logs.lock().unwrap().join("\n");
    assert!(logs.contains("LATCHKEY_MASTER_KEY is not set"), "{logs}");
}

/// `keys rotate` without the master key on a store whose keys are sealed
/// used to write the new current key unsealed: it now refuses, naming the
/// variable, and the store keeps only sealed keys.
#[test]
fn i16_keys_rotate_without_the_master_key_refuses_on_a_sealed_store() {
    let (_dir, path) = temp();
    let master = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let rotate = |env: &[(&str, &str)]| {
        std::process::Command::new(crate::server::BIN)
            .args([
                "keys",
                "rotate",
                "--database",
                &crate::server::db_url(&path),
            ])
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let sealed = rotate(&[("LATCHKEY_MASTER_KEY", master)]);
    assert!(
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let out = rotate(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LATCHKEY_MASTER_KEY"));
    let list = std::process::Command::new(crate::server::BIN)
        .args(["keys", "list", "--database", &crate::server::db_url(&path)])
        .env_clear()
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert_eq!(
        listed.lines().filter(|l| l.contains("current")).count(),
        1,
        "{listed}"
    );
    let again = rotate(&[("LATCHKEY_MASTER_KEY", master)]);
    assert!(again.status.success(), "with the key it rotates");
}
