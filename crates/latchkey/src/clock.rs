//! The one place that reads the wall clock and the monotonic clock.

use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use latchkey_core::{Clock, Timestamp};

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp::from_unix_millis(ms)
    }

    #[allow(clippy::disallowed_methods)]
    fn monotonic(&self) -> Duration {
        static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);
        ORIGIN.elapsed()
    }
}

/// The wall clock as the log lines stamp it (to the microsecond): logs
/// record when they were written, not the time a test clock shows.
#[allow(clippy::disallowed_methods)]
pub fn log_time() -> SystemTime {
    SystemTime::now()
}
