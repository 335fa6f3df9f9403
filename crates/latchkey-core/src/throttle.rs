//! Login throttling: a fixed window of failures per key.
//!
//! A key is an account (`acct:<username>`) or a client address
//! (`addr:<ip>`, IPv6 by /64). Failures are counted in the store so that
//! they survive a restart and are shared between nodes; this module only
//! decides. There is no permanent lockout: a window ends by itself.
//! Attempts are counted before they are checked ([`admit`]), so concurrent
//! guesses cannot overrun a limit.

use std::net::IpAddr;
use std::time::Duration;

use crate::{Timestamp, Username};

/// Failures counted for one key since `started_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureWindow {
    pub count: u32,
    pub started_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account: 10,
            per_address: 100,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; try again after this long (whole seconds, at least 1).
    Limited {
        retry_after: Duration,
    },
}

impl FailureWindow {
    /// Whether this window still counts at `now`.
    pub fn is_open(&self, window: Duration, now: Timestamp) -> bool {
        now < self.started_at.saturating_add(window)
    }

    /// The window after one more failure at `now`: counted in the open
    /// window, or a new window if the old one has ended.
    pub fn after_failure(current: Option<Self>, window: Duration, now: Timestamp) -> Self {
        match current {
            Some(w) if w.is_open(window, now) => Self {
                count: w.count.saturating_add(1),
                started_at: w.started_at,
            },
            _ => Self {
                count: 1,
                started_at: now,
            },
        }
    }
}

/// Whether the attempt that made `window` (its count already includes this
/// attempt) may go ahead. Counting *before* the password is checked means
/// a burst of concurrent guesses gets no more checks than the limit.
pub fn admit(window: FailureWindow, limit: u32, span: Duration, now: Timestamp) -> Decision {
    if window.count > limit && window.is_open(span, now) {
        let left = now.until(window.started_at.saturating_add(span));
        let secs = left.as_millis().div_ceil(1000).max(1);
        Decision::Limited {
            retry_after: Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX)),
        }
    } else {
        Decision::Allowed
    }
}

pub fn account_key(username: &Username) -> String {
    format!("acct:{username}")
}

/// IPv4 addresses count one by one; IPv6 by /64, since one client
/// commonly holds a whole /64.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("addr:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("addr:{v4}"),
            None => {
                let s = v6.segments();
                format!("addr:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_secs(900);

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(5_000_000 + ms)
    }

    #[test]
    fn window_ends_by_itself_at_its_exact_end() {
        let w = FailureWindow {
            count: 50,
            started_at: t(0),
        };
        assert_eq!(
            admit(w, 10, W, t(900_000 - 1)),
            Decision::Limited {
                retry_after: Duration::from_secs(1)
            }
        );
        assert_eq!(admit(w, 10, W, t(900_000)), Decision::Allowed);
        assert_eq!(
            FailureWindow::after_failure(Some(w), W, t(900_000)),
            FailureWindow {
                count: 1,
                started_at: t(900_000)
            }
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let w = FailureWindow {
            count: 2,
            started_at: t(0),
        };
        assert_eq!(
            admit(w, 1, W, t(1)),
            Decision::Limited {
                retry_after: Duration::from_secs(900)
            }
        );
    }

    #[test]
    fn admit_allows_exactly_limit_attempts_per_window() {
        let mut w = None;
        let mut allowed = 0;
        for i in 0..10 {
            let next = FailureWindow::after_failure(w, W, t(i));
            if admit(next, 3, W, t(i)) == Decision::Allowed {
                allowed += 1;
            }
            w = Some(next);
        }
        assert_eq!(allowed, 3);
        let w = FailureWindow {
            count: 4,
            started_at: t(0),
        };
        assert_eq!(
            admit(w, 3, W, t(899_500)),
            Decision::Limited {
                retry_after: Duration::from_secs(1)
            }
        );
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or_else(|_| unreachable!());
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or_else(|_| unreachable!());
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key(a), "addr:2001:db8:1:2::/64");
        assert_eq!(address_key(mapped), "addr:10.0.0.1");
    }
}
