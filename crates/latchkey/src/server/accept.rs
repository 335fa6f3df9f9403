//! Accepting connections without spinning: when `accept` fails for lack of
//! resources (out of file descriptors, memory or buffers), the loop backs
//! off (10 ms doubling to 1 s) and logs once when the trouble starts, then
//! once a minute at most while it lasts, and once when it is over — not
//! once per failure.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// While `accept` keeps failing, at most one log line per this.
const LOG_EVERY: Duration = Duration::from_secs(60);

pub(super) struct Acceptor {
    listener: TcpListener,
    /// Failures since the last successful accept.
    failures: u64,
    backoff: Duration,
    last_log: Option<Instant>,
}

impl Acceptor {
    pub(super) fn new(listener: TcpListener) -> Self {
        Self {
            listener,
            failures: 0,
            backoff: FIRST_BACKOFF,
            last_log: None,
        }
    }

    /// The next connection; failures are waited out (see the module).
    pub(super) async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok(pair) => {
                    self.recovered();
                    return pair;
                }
                // The client gave up before we took the connection.
                Err(e) if is_per_connection(&e) => {}
                Err(e) => {
                    self.failed(&e);
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn failed(&mut self, e: &io::Error) {
        self.failures += 1;
        let due = self.last_log.is_none_or(|t| t.elapsed() >= LOG_EVERY);
        if due {
            self.last_log = Some(Instant::now());
            tracing::warn!(
                error = %e,
                failures = self.failures,
                "accept failed; backing off until it succeeds"
            );
        }
    }

    fn recovered(&mut self) {
        if self.failures > 0 {
            tracing::info!(failures = self.failures, "accept succeeds again");
        }
        self.failures = 0;
        self.backoff = FIRST_BACKOFF;
        self.last_log = None;
    }
}

/// Errors about one connection (already gone), not about the listener.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}
