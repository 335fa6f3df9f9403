//! Connection robustness (issue 10): every connection makes progress
//! within a deadline from accept, whatever it sends or does not send;
//! HTTP/2 cleartext is refused; request bodies have a read deadline; the
//! number of connections is capped. Driven over loopback with raw sockets,
//! with deadlines of one second and bounded waits of a few seconds.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// The deadline the tests configure.
const DEADLINE: Duration = Duration::from_secs(1);
/// How long a test waits for the server to act on it.
const WAIT: Duration = Duration::from_secs(4);

const GET_HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Reads until the server closes the connection: what it sent, if it
/// closed within `within`; `None` if the connection is still open.
async fn closed_within(stream: &mut (impl AsyncRead + Unpin), within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address).await.expect("connect")
}

fn status_of(reply: &[u8]) -> Option<u16> {
    std::str::from_utf8(reply.get(..12)?)
        .ok()?
        .strip_prefix("HTTP/1.1 ")?
        .parse()
        .ok()
}

fn body_of(reply: &[u8]) -> Value {
    let text = String::from_utf8_lossy(reply);
    let (_, body) = text.split_once("\r\n\r\n").expect("a response head");
    serde_json::from_str(body).expect("a JSON body")
}

#[tokio::test]
async fn i10_01_silent_connection_is_closed_after_deadline() {
    let app = TestApp::spawn_with(|c| c.server.header_read_timeout = DEADLINE).await;
    let mut silent = connect(&app).await;
    let mut one_byte = connect(&app).await;
    one_byte.write_all(b"G").await.unwrap();
    let mut half_head = connect(&app).await;
    half_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    for (what, conn) in [
        ("a connection that sends nothing", &mut silent),
        ("a connection that sends one byte", &mut one_byte),
        ("a connection that sends half a head", &mut half_head),
    ] {
        assert!(
            closed_within(conn, WAIT).await.is_some(),
            "{what} is still open {WAIT:?} after a {DEADLINE:?} deadline"
        );
    }
    // An idle keep-alive connection is closed by the same deadline.
    let mut idle = app.raw().await;
    idle.write(GET_HEALTHZ).await.unwrap();
    assert_eq!(idle.read_response().await.status, 200);
    assert!(closed_within(&mut idle.stream, WAIT).await.is_some());
}

#[tokio::test]
async fn i10_02_h2c_prior_knowledge_is_refused() {
    let app = TestApp::spawn_with(|c| c.server.header_read_timeout = DEADLINE).await;
    // The HTTP/2 connection preface and an empty SETTINGS frame.
    let mut h2 = connect(&app).await;
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let got = closed_within(&mut h2, WAIT)
        .await
        .expect("an HTTP/2 preface gets the connection closed");
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 "),
        "answered in HTTP/2: {got:?}"
    );
    // Half a preface, then nothing.
    let mut half = connect(&app).await;
    half.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    assert!(closed_within(&mut half, WAIT).await.is_some());
    // An h2c upgrade request is answered in HTTP/1.1, never upgraded.
    let mut upgrade = app.raw().await;
    upgrade
        .write(
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n\
              Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
        )
        .await
        .unwrap();
    assert_eq!(upgrade.read_response().await.status, 200);
}

/// Sends `head`, then `piece` every 300 ms until the server stops reading;
/// returns what the server answered if it closed the connection in time.
async fn trickle(app: &TestApp, head: &'static [u8], piece: &'static [u8]) -> Option<Vec<u8>> {
    let (mut rd, mut wr) = connect(app).await.into_split();
    wr.write_all(head).await.unwrap();
    let writer = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if wr.write_all(piece).await.is_err() {
                break;
            }
        }
    });
    let got = closed_within(&mut rd, WAIT).await;
    writer.abort();
    got
}

#[tokio::test]
async fn i10_03_trickled_login_body_is_cut_off_at_the_deadline() {
    let app = TestApp::spawn_with(|c| c.http.body_read_timeout = DEADLINE).await;
    let sized = trickle(
        &app,
        b"POST /v1/session/login HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
        b" ",
    );
    let chunked = trickle(
        &app,
        b"POST /v1/session/login HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n",
        b"1\r\n \r\n",
    );
    let (sized, chunked) = tokio::join!(sized, chunked);
    for (what, got) in [
        ("a trickled body", sized),
        ("an endless chunked body", chunked),
    ] {
        let got = got.unwrap_or_else(|| panic!("{what} is still being read after {WAIT:?}"));
        assert_eq!(status_of(&got), Some(408), "{what}: {got:?}");
        assert_eq!(body_of(&got)["code"], "request_timeout", "{what}");
    }
    // A body that arrives in time is read as before.
    let r = app.login_attempt("nobody", "wrong-password-1").await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn i10_04_connections_over_the_cap_are_refused_and_established_ones_served() {
    let app = TestApp::spawn_with(|c| c.server.max_connections = 2).await;
    let mut a = app.raw().await;
    let mut b = app.raw().await;
    for conn in [&mut a, &mut b] {
        conn.write(GET_HEALTHZ).await.unwrap();
        assert_eq!(conn.read_response().await.status, 200);
    }
    let mut newcomer = connect(&app).await;
    let _ = newcomer.write_all(GET_HEALTHZ).await;
    let got = closed_within(&mut newcomer, WAIT)
        .await
        .expect("a connection over the cap is refused at once, not held");
    assert!(
        got.is_empty() || status_of(&got) == Some(503),
        "a connection over the cap was served: {}",
        String::from_utf8_lossy(&got)
    );
    for conn in [&mut a, &mut b] {
        conn.write(GET_HEALTHZ).await.unwrap();
        assert_eq!(conn.read_response().await.status, 200);
    }
    // When one leaves, a newcomer is served again.
    drop(a);
    let start = tokio::time::Instant::now();
    loop {
        let mut c = connect(&app).await;
        let _ = c.write_all(GET_HEALTHZ).await;
        let mut head = [0u8; 12];
        if tokio::time::timeout(WAIT, c.read_exact(&mut head))
            .await
            .is_ok_and(|r| r.is_ok())
            && status_of(&head) == Some(200)
        {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "no connection is served after one left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
