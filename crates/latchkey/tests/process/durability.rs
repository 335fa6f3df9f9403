//! An acknowledged write is never lost.

use crate::server::{login, logout, register, session_status, start, temp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_logouts_survive_kill_9() {
    let (_dir, path) = temp();
    let http = reqwest::Client::new();
    let server = start(&path);
    register(&http, &server.base, "alice", "correct horse battery").await;
    let mut live = Vec::new();
    let mut ended = Vec::new();
    for i in 0..16 {
        let l = login(&http, &server.base, "alice", "correct horse battery").await;
        if i % 2 == 0 {
            live.push(l);
        } else {
            ended.push(l);
        }
    }
    for l in &ended {
        logout(&http, &server.base, l).await;
    }
    // The last acknowledged writes happened just now; kill without warning.
    server.kill9();

    let server = start(&path);
    for l in &live {
        assert_eq!(session_status(&http, &server.base, &l.cookie).await, 200);
    }
    for l in &ended {
        assert_eq!(session_status(&http, &server.base, &l.cookie).await, 401);
    }
    // The CSRF key survived too: an old token still authorises its session.
    logout(&http, &server.base, &live[0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_cleanly_with_code_0() {
    let (_dir, path) = temp();
    let server = start(&path);
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let base = server.base.clone();
    let status = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(http.get(format!("{base}/healthz")).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_during_shutdown() {
    let (_dir, path) = temp();
    let server = start(&path);
    let http = reqwest::Client::new();
    register(&http, &server.base, "bob", "correct horse battery").await;
    // Start logins (each an argon2 run, tens of ms) and send SIGTERM while
    // they are in flight: every one that was accepted must complete.
    let base = server.base.clone();
    let inflight: Vec<_> = (0..4)
        .map(|_| {
            let http = http.clone();
            let base = base.clone();
            tokio::spawn(async move {
                http.post(format!("{base}/v1/session/login"))
                    .json(&serde_json::json!({"username": "bob", "password": "correct horse battery"}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    for t in inflight {
        // A request either completed normally or was never accepted
        // (connection refused); none was cut off half-way with a 5xx.
        if let Ok(code) = t.await.unwrap() {
            assert_eq!(code, 200);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_passwords_cookies_or_csrf_tokens() {
    let (_dir, path) = temp();
    let server = start(&path);
    let http = reqwest::Client::new();
    let password = "Tr0ub4dor&3-unique-marker";
    register(&http, &server.base, "frank", password).await;
    let l = login(&http, &server.base, "frank", password).await;
    // A failed login, a bad body that includes the password, a CSRF failure.
    let _ = http
        .post(format!("{}/v1/session/login", server.base))
        .json(&serde_json::json!({"username": "frank", "password": "wrong-password-marker"}))
        .send()
        .await
        .unwrap();
    let _ = http
        .post(format!("{}/v1/session/login", server.base))
        .json(&serde_json::json!({"username": "frank", "password": password, "remember": password}))
        .send()
        .await
        .unwrap();
    let _ = http
        .post(format!(
            "{}/v1/session/logout?token={}",
            server.base, l.csrf
        ))
        .header("cookie", format!("__Host-lk_session={}", l.cookie))
        .send()
        .await
        .unwrap();
    logout(&http, &server.base, &l).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = server.logs.lock().unwrap().join("\n");
    assert!(logs.contains("/v1/session/login"), "requests are logged");
    for secret in [password, "wrong-password-marker", &l.cookie, &l.csrf] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}
