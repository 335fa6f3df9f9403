//! Accepting connections without spinning: when `accept` fails for lack of
//! resources (out of file descriptors, memory or buffers), the loop backs
//! off (10 ms doubling to 1 s) and logs once when the trouble starts, then
//! once a minute at most while it lasts, and once when it is over — not
//! once per failure.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use latchkey_core::Clock;

use tokio::net::{TcpListener, TcpStream};

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// While `accept` keeps failing, at most one log line per this.
const LOG_EVERY: Duration = Duration::from_secs(60);

pub(super) struct Acceptor {
    listener: TcpListener,
    backoff: Backoff,
    /// Times the log schedule (its monotonic reading).
    clock: Arc<dyn Clock>,
}

impl Acceptor {
    pub(super) fn new(listener: TcpListener, clock: Arc<dyn Clock>) -> Self {
        Self {
            listener,
            backoff: Backoff::default(),
            clock,
        }
    }

    /// The next connection; failures are waited out (see the module).
    pub(super) async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok(pair) => {
                    let failures = self.backoff.succeeded();
                    if failures > 0 {
                        tracing::info!(failures, "accept succeeds again");
                    }
                    return pair;
                }
                // The client gave up before we took the connection.
                Err(e) if is_per_connection(&e) => {}
                Err(e) => {
                    let (delay, log) = self.backoff.failed(self.clock.monotonic());
                    if log {
                        tracing::warn!(
                            error = %e,
                            failures = self.backoff.failures,
                            "accept failed; backing off until it succeeds"
                        );
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

/// The back-off and log schedule of one episode of failures.
#[derive(Debug)]
struct Backoff {
    /// Failures since the last successful accept.
    failures: u64,
    delay: Duration,
    /// When the last line was logged (monotonic).
    last_log: Option<Duration>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            failures: 0,
            delay: FIRST_BACKOFF,
            last_log: None,
        }
    }
}

impl Backoff {
    /// One more failure at `now`: how long to wait, and whether to log.
    fn failed(&mut self, now: Duration) -> (Duration, bool) {
        self.failures += 1;
        let log = self
            .last_log
            .is_none_or(|t| now.saturating_sub(t) >= LOG_EVERY);
        if log {
            self.last_log = Some(now);
        }
        let delay = self.delay;
        self.delay = (self.delay * 2).min(MAX_BACKOFF);
        (delay, log)
    }

    /// A success: the episode is over. Returns how many failures it had.
    fn succeeded(&mut self) -> u64 {
        std::mem::take(self).failures
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i10_04_accept_failures_back_off_and_log_once_per_episode() {
        let mut b = Backoff::default();
        let start = Duration::from_secs(1_000);
        let mut now = start;
        let (mut waited, mut logged) = (Duration::ZERO, 0);
        // Out of descriptors for 30 s of failing accepts.
        while now - start < Duration::from_secs(30) {
            let (delay, log) = b.failed(now);
            assert!(delay >= FIRST_BACKOFF && delay <= MAX_BACKOFF);
            waited += delay;
            logged += usize::from(log);
            now += delay;
        }
        assert_eq!(logged, 1, "one log line, not one per failure");
        assert!(b.failures < 45, "{} attempts in 30 s: spinning", b.failures);
        assert_eq!(b.failed(now).0, MAX_BACKOFF);
        // A minute on, one more line; after a success, a fresh episode.
        assert!(b.failed(start + LOG_EVERY).1);
        assert!(b.succeeded() > 0);
        assert_eq!(b.failed(now), (FIRST_BACKOFF, true));
        assert!(waited >= Duration::from_secs(30));
    }
}
