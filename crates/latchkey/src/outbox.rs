//! What the background senders of every outbox share (e-mail in
//! `mailer`, webhooks in `webhooks`): the loop that wakes on a queued row
//! or a poll and drains what is due, and the decision after each try —
//! done; a retry after an exponential back-off (`retry_initial`, doubling,
//! at most `retry_max`); or, after `max_attempts` tries, failed. Claims
//! are leases (the store's), so a node that dies mid-send only delays a
//! row until its lease runs out: delivery is at least once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use latchkey_core::Timestamp;
use latchkey_store::Delivery;
use tokio::sync::Notify;

/// How often, and how long apart, a row is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retries {
    /// Tries before a row is recorded as failed.
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles, up to `max`.
    pub initial: Duration,
    pub max: Duration,
}

impl Retries {
    /// 10 tries, 5 s doubling to 10 min (about 40 minutes in all).
    pub const DEFAULT: Self = Self {
        max_attempts: 10,
        initial: Duration::from_secs(5),
        max: Duration::from_secs(600),
    };

    /// What becomes of a row after try number `attempts` went as
    /// `outcome` (its error, if any, already free of secrets).
    pub fn decide(&self, attempts: u32, outcome: Result<(), String>, at: Timestamp) -> Delivery {
        match outcome {
            Ok(()) => Delivery::Sent { at },
            Err(error) if attempts >= self.max_attempts => Delivery::Failed { at, error },
            Err(error) => Delivery::Retry {
                next: at.saturating_add(backoff(attempts, self.initial, self.max)),
                error,
            },
        }
    }
}

/// The delay before try `attempts + 1`: `initial`, doubling, at most `max`.
pub fn backoff(attempts: u32, initial: Duration, max: Duration) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(max)
}

/// Runs `drain_once` (claim and try one batch of at most `batch` rows;
/// how many it claimed, or `Err` when the store did not answer) whenever
/// `wake` is notified and every `poll`, until the task is aborted. A full
/// batch is followed at once by another.
pub async fn drain_forever<F, Fut>(poll: Duration, wake: Arc<Notify>, batch: u32, mut drain_once: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, ()>>,
{
    let mut tick = tokio::time::interval(poll);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = wake.notified() => {}
        }
        while let Ok(n) = drain_once().await {
            if n < batch as usize {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let s = Duration::from_secs;
        let got: Vec<_> = (1..=6).map(|n| backoff(n, s(5), s(60))).collect();
        assert_eq!(got, [s(5), s(10), s(20), s(40), s(60), s(60)]);
        assert_eq!(backoff(100, s(5), s(60)), s(60));
    }

    #[test]
    fn a_row_fails_at_its_last_attempt_and_is_retried_before() {
        let r = Retries::DEFAULT;
        let at = Timestamp::from_unix_millis(1_000_000);
        assert_eq!(r.decide(3, Ok(()), at), Delivery::Sent { at });
        assert_eq!(
            r.decide(3, Err("HTTP 500".into()), at),
            Delivery::Retry {
                next: at.saturating_add(Duration::from_secs(20)),
                error: "HTTP 500".into()
            }
        );
        assert_eq!(
            r.decide(10, Err("HTTP 500".into()), at),
            Delivery::Failed {
                at,
                error: "HTTP 500".into()
            }
        );
        let schedule: Vec<_> = (1..10).map(|n| backoff(n, r.initial, r.max)).collect();
        let secs: Vec<_> = schedule.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 600, 600]);
    }
}
