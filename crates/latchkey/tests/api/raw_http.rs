//! A hand-driven HTTP/1.1 connection, for what `reqwest` will not send:
//! chunked bodies of a chosen shape, `Expect: 100-continue`, and bodies
//! held back while the server shuts down.

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{Reply, STOP_TIMEOUT};

/// A hand-driven HTTP/1.1 connection, for what `reqwest` will not send:
/// chunked bodies of chosen shape, and bodies sent slowly.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// A response read by [`RawConn`].
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// As a [`Reply`], for [`problem`].
    pub fn to_reply(&self) -> Reply {
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            headers.append(
                header::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                v.parse().expect("header value"),
            );
        }
        Reply {
            status: StatusCode::from_u16(self.status).expect("status"),
            headers,
            body: self.body.clone(),
        }
    }
}

impl RawConn {
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes bytes; a write error (the server closed early) is returned.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads one response head (status line and headers), which may be an
    /// interim `1xx`.
    pub async fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            self.fill().await;
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("ASCII head");
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        (status, headers)
    }

    /// Reads a final response (skipping interim ones) with a
    /// `Content-Length` body.
    pub async fn read_response(&mut self) -> RawReply {
        loop {
            let (status, headers) = self.read_head().await;
            if (100..200).contains(&status) {
                continue;
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.parse().expect("content-length"));
            while self.buf.len() < len {
                self.fill().await;
            }
            let body = String::from_utf8(self.buf.drain(..len).collect()).expect("UTF-8 body");
            return RawReply {
                status,
                headers,
                body,
            };
        }
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout(STOP_TIMEOUT, self.stream.read(&mut chunk))
            .await
            .expect("the server answers in time")
            .expect("read");
        assert!(n > 0, "connection closed mid-response");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// Reads until the server closes the connection; true if it did.
    pub async fn closed_by_server(&mut self) -> bool {
        let mut chunk = [0u8; 1024];
        matches!(
            tokio::time::timeout(STOP_TIMEOUT, self.stream.read(&mut chunk)).await,
            Ok(Ok(0) | Err(_))
        )
    }
}
