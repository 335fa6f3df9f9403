//! Time. [`system_now`] is the only place in this crate that reads the
//! system clock; everything else asks the verifier's [`Clock`], which tests
//! replace to move time exactly instead of sleeping.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" in seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Now, from the system clock, in seconds since the Unix epoch (negative
/// before 1970, saturating far beyond).
#[allow(clippy::disallowed_methods)] // the one adapter that reads the clock
pub fn system_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// A monotonic source: time since some fixed point (how long the
/// revocation feed has been silent).
pub type Monotonic = Arc<dyn Fn() -> std::time::Duration + Send + Sync>;

/// The system's monotonic clock, from the first call.
#[allow(clippy::disallowed_methods)] // the one adapter that reads the clock
pub fn system_monotonic() -> Monotonic {
    let start = std::time::Instant::now();
    Arc::new(move || start.elapsed())
}

/// The system clock as a [`Clock`].
pub fn system_clock() -> Clock {
    Arc::new(system_now)
}
