//! Time as a value. The only thing that reads the wall clock is an
//! implementation of [`Clock`] outside this crate.

use std::time::Duration;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch, rounded down.
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// `self + d`, saturating at the far future rather than overflowing.
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(ms))
    }

    /// `self - d`, saturating.
    pub fn saturating_sub(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(ms))
    }

    /// How long from `self` until `later`; zero if `later` is not after `self`.
    pub fn until(self, later: Timestamp) -> Duration {
        let ms = later.0.saturating_sub(self.0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-23T10:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        let Ok(dt) = ::time::OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
            return String::from("invalid-time");
        };
        let format = ::time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        dt.format(&format)
            .unwrap_or_else(|_| String::from("invalid-time"))
    }
}

/// The source of "now". Production reads the system clock; tests move a
/// manual clock so that expiry is checked at exact edges without sleeping.
pub trait Clock: Send + Sync + 'static {
    /// Wall-clock time: what expiries and records are measured in.
    fn now(&self) -> Timestamp;
    /// Monotonic time since this clock's own origin: never goes back and
    /// never jumps with the wall clock. For operational deadlines (how long
    /// a view stays trusted, circuit back-off), never for records.
    fn monotonic(&self) -> Duration;
}

/// A clock that only moves when told to: for tests, and for anything that
/// must replay time. Reading it never touches the system clock.
#[derive(Debug)]
pub struct ManualClock(std::sync::atomic::AtomicI64, std::sync::atomic::AtomicU64);

impl ManualClock {
    /// Wall time `start`, monotonic time zero.
    pub fn new(start: Timestamp) -> Self {
        Self(
            std::sync::atomic::AtomicI64::new(start.0),
            std::sync::atomic::AtomicU64::new(0),
        )
    }

    /// Moves monotonic time only (wall time moves with [`advance`](Self::advance)
    /// and [`set`](Self::set)): operational deadlines are driven apart
    /// from expiries, as a real wall clock can jump without the monotonic one.
    pub fn advance_monotonic(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.1.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }

    fn monotonic(&self) -> Duration {
        Duration::from_millis(self.1.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_millis() {
        let t = Timestamp::from_unix_millis(1_795_000_000_123);
        assert_eq!(t.to_rfc3339(), "2026-11-18T11:06:40.123Z");
    }

    #[test]
    fn manual_monotonic_time_moves_only_when_told() {
        let c = ManualClock::new(Timestamp::from_unix_millis(5_000));
        c.advance(Duration::from_secs(60));
        assert_eq!(c.monotonic(), Duration::ZERO);
        c.advance_monotonic(Duration::from_secs(6));
        assert_eq!(c.monotonic(), Duration::from_secs(6));
        assert_eq!(c.now(), Timestamp::from_unix_millis(65_000));
    }

    #[test]
    fn until_never_goes_negative() {
        let a = Timestamp::from_unix_millis(5_000);
        assert_eq!(a.until(Timestamp::from_unix_millis(4_000)), Duration::ZERO);
        assert_eq!(
            a.until(Timestamp::from_unix_millis(6_500)),
            Duration::from_millis(1_500)
        );
    }

    #[test]
    fn add_saturates() {
        let t = Timestamp::from_unix_millis(i64::MAX - 1);
        assert_eq!(
            t.saturating_add(Duration::from_secs(10)).unix_millis(),
            i64::MAX
        );
    }
}
