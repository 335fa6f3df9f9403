//! The HTTP/1.1 server loop on hyper: per-connection client address, a
//! deadline on every request head (from accept, and between keep-alive
//! requests), a cap on concurrent connections, and graceful shutdown that
//! stops accepting, lets in-flight requests finish, then returns.
//!
//! HTTP/1.1 only: an HTTP/2 preface (h2c prior knowledge) is a parse error
//! and the connection is closed; an `Upgrade: h2c` header is ignored.
//! Upgrades for the BFF's WebSocket splice are served (`with_upgrades`).
//!
//! [`serve`] takes any listener and router, so a second listener (say, for
//! metrics) runs the same loop with its own settings.

mod accept;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use latchkey_core::Clock;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt as _;

/// How long in-flight requests get to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Connection handling (`server.*` in the configuration).
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// From accept, and from the end of each response, until the next
    /// request head is complete: the connection is closed otherwise. This
    /// is both the handshake deadline and the idle keep-alive timeout.
    pub header_read_timeout: Duration,
    /// Connections served at once; a newcomer beyond it gets a `503` and
    /// is closed at once.
    pub max_connections: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: &ServerSettings,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        // Up to 256 header fields reach the 16 KiB size check (and its
        // problem JSON); beyond that hyper answers a bare 431 itself.
        .max_headers(256)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let (drain, draining) = watch::channel(false);
    let refusal = over_capacity();
    let mut acceptor = accept::Acceptor::new(listener, clock);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = acceptor.accept() => accepted,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse(&stream, &refusal);
            continue;
        };
        let conn = Connection {
            builder: &builder,
            app: &app,
            draining: draining.clone(),
        };
        conn.spawn(stream, peer, slot);
    }
    drop(acceptor);
    drop(draining);
    tracing::info!("shutting down: draining in-flight requests");
    let _ = drain.send(true);
    tokio::select! {
        () = drain.closed() => tracing::info!("drained"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("drain timed out"),
    }
}

/// What a connection task needs from the loop.
struct Connection<'a> {
    builder: &'a http1::Builder,
    app: &'a Router,
    /// Turns true at shutdown; the task holds it until it ends, so the loop
    /// knows when every connection is done.
    draining: watch::Receiver<bool>,
}

impl Connection<'_> {
    fn spawn(self, stream: TcpStream, peer: SocketAddr, slot: OwnedSemaphorePermit) {
        let _ = stream.set_nodelay(true);
        let svc = self
            .app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req
            });
        let conn = self
            .builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
            .with_upgrades();
        let mut draining = self.draining;
        tokio::spawn(async move {
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = async { let _ = draining.wait_for(|d| *d).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
}

/// Answers a connection over the cap with a `503` and closes it, without
/// waiting on it: whatever the client sent so far is read and dropped (so
/// the close is not a reset that could destroy the answer), the answer
/// fits in the socket buffer of a fresh connection.
fn refuse(stream: &TcpStream, refusal: &[u8]) {
    let mut scratch = [0u8; 4096];
    let _ = stream.try_read(&mut scratch);
    let _ = stream.try_write(refusal);
    tracing::debug!("connection refused: at the connection cap");
}

/// The whole `503 overloaded` response sent to a connection over the cap.
fn over_capacity() -> Vec<u8> {
    let body =
        serde_json::to_vec(&latchkey_http::ApiError::Overloaded.problem()).unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         cache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}
