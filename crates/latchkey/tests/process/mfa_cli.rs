//! `latchkey user mfa-reset NAME` against a running server: the factor is
//! gone and every session of the user ends.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;

use crate::server::{cli, login, session_status, start, temp};

/// RFC 6238 (SHA-1, six digits, 30 s) at the real time, written here.
fn totp_now(secret_b32: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut n, mut secret) = (0u64, 0, Vec::new());
    for c in secret_b32.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            secret.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    let step = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let m = mac.as_ref();
    let o = usize::from(m[19] & 0x0f);
    let bin = u32::from_be_bytes([m[o] & 0x7f, m[o + 1], m[o + 2], m[o + 3]]);
    format!("{:06}", bin % 1_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_reset_removes_the_factor_and_ends_every_session() {
    let (_dir, path) = temp();
    let pw = "correct horse battery";
    let out = cli(
        &path,
        &["user", "add", "mia", "--password-stdin"],
        Some("correct horse battery\n"),
    );
    assert!(out.status.success());
    let server = start(&path);
    let http = reqwest::Client::new();
    let s = login(&http, &server.base, "mia", pw).await;
    let authed = |path: &str| {
        http.post(format!("{}{path}", server.base))
            .header("cookie", format!("__Host-lk_session={}", s.cookie))
            .header("x-csrf-token", &s.csrf)
    };
    let enrol: serde_json::Value = authed("/v1/mfa/totp")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = totp_now(enrol["secret"].as_str().unwrap());
    let confirmed = authed("/v1/mfa/totp/confirm")
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let token_login = || {
        http.post(format!("{}/v1/token/login", server.base))
            .json(&serde_json::json!({ "username": "mia", "password": pw }))
            .send()
    };
    assert_eq!(token_login().await.unwrap().status(), 401, "mfa_required");

    let out = cli(&path, &["user", "mfa-reset", "mia"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("ended 1 session and"), "{said}");
    // The running server learns of the ended session through the
    // revocation log within a second or so.
    let deadline = Instant::now() + Duration::from_secs(10);
    while session_status(&http, &server.base, &s.cookie).await != 401 {
        assert!(Instant::now() < deadline, "the session outlived the reset");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        token_login().await.unwrap().status(),
        200,
        "the password alone again"
    );
    let unknown = cli(&path, &["user", "mfa-reset", "nobody"], None);
    assert_eq!(unknown.status.code(), Some(1));
}
