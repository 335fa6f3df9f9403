//! Session lifecycle: creation, idle and absolute expiry, throttled touches.

use std::time::Duration;

use crate::{Assurance, SessionHandle, Timestamp, UserId};

/// How long sessions live. Both limits are enforced by the server whatever
/// the browser keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends (sliding).
    pub idle_timeout: Duration,
    /// A session ends this long after login, however active.
    pub absolute_timeout: Duration,
    /// A session's last-seen time is written to the store at most this
    /// often, so that a busy session costs reads, not writes.
    pub touch_interval: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(7 * 24 * 3600),
            touch_interval: Duration::from_secs(60),
        }
    }
}

/// A session as stored (without its secret, which is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub handle: SessionHandle,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// `min(last_seen_at + idle_timeout, absolute_expires_at)`.
    pub idle_expires_at: Timestamp,
    pub absolute_expires_at: Timestamp,
    /// "Remember me": the cookie outlives the browser session.
    pub persistent: bool,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// How and when its holder signed in (`amr`, `auth_time`).
    pub assurance: Assurance,
}

/// What a presented session is worth at a given moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStatus {
    /// Valid; `touch` says whether last-seen should be written now, with
    /// the new idle expiry.
    Valid {
        touch: Option<Timestamp>,
    },
    Expired,
}

/// Longest accepted User-Agent; longer ones are cut (on a char boundary).
pub const MAX_USER_AGENT: usize = 256;

impl SessionPolicy {
    /// A fresh session for `user_id`, logged in at `now` (with no `amr`
    /// values: the caller sets the sign-in's [`Assurance`]).
    pub fn start(
        &self,
        handle: SessionHandle,
        user_id: UserId,
        now: Timestamp,
        persistent: bool,
        user_agent: Option<&str>,
        ip: Option<String>,
    ) -> Session {
        let absolute_expires_at = now.saturating_add(self.absolute_timeout);
        Session {
            handle,
            user_id,
            created_at: now,
            last_seen_at: now,
            idle_expires_at: now
                .saturating_add(self.idle_timeout)
                .min(absolute_expires_at),
            absolute_expires_at,
            persistent,
            user_agent: user_agent.map(truncate_user_agent),
            ip,
            assurance: Assurance::new(Vec::<String>::new(), now),
        }
    }

    /// Checks `session` at `now`. A session is expired from the exact
    /// millisecond its idle or absolute expiry is reached.
    pub fn status(&self, session: &Session, now: Timestamp) -> SessionStatus {
        if now >= session.idle_expires_at || now >= session.absolute_expires_at {
            return SessionStatus::Expired;
        }
        let touch = (now >= session.last_seen_at.saturating_add(self.touch_interval)).then(|| {
            now.saturating_add(self.idle_timeout)
                .min(session.absolute_expires_at)
        });
        SessionStatus::Valid { touch }
    }

    /// `Max-Age` for a persistent cookie: the time left until the absolute
    /// expiry. `None` for a browser-session cookie.
    pub fn cookie_max_age(&self, session: &Session, now: Timestamp) -> Option<Duration> {
        session
            .persistent
            .then(|| now.until(session.absolute_expires_at))
    }
}

fn truncate_user_agent(ua: &str) -> String {
    let mut end = ua.len().min(MAX_USER_AGENT);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    ua[..end].chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn policy() -> SessionPolicy {
        SessionPolicy {
            idle_timeout: 30 * MIN,
            absolute_timeout: 120 * MIN,
            touch_interval: MIN,
        }
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_000_000_000 + ms)
    }

    fn session(p: &SessionPolicy, persistent: bool) -> Session {
        p.start(
            SessionHandle::from_random([1; 16]),
            UserId::from_random([2; 16]),
            t(0),
            persistent,
            Some("Mozilla/5.0"),
            Some("127.0.0.1".into()),
        )
    }

    const MIN_MS: i64 = 60_000;

    #[test]
    fn idle_expiry_is_exact() {
        let p = policy();
        let s = session(&p, false);
        assert_eq!(
            p.status(&s, t(30 * MIN_MS - 1)),
            SessionStatus::Valid {
                touch: Some(t(60 * MIN_MS - 1))
            }
        );
        assert_eq!(p.status(&s, t(30 * MIN_MS)), SessionStatus::Expired);
    }

    #[test]
    fn touches_are_throttled_to_the_interval() {
        let p = policy();
        let s = session(&p, false);
        assert_eq!(
            p.status(&s, t(MIN_MS - 1)),
            SessionStatus::Valid { touch: None }
        );
        assert_eq!(
            p.status(&s, t(MIN_MS)),
            SessionStatus::Valid {
                touch: Some(t(31 * MIN_MS))
            }
        );
    }

    #[test]
    fn activity_slides_idle_expiry_but_never_past_absolute() {
        let p = policy();
        let mut s = session(&p, false);
        // Active every 20 minutes: always valid until the absolute limit.
        let mut now = 0;
        while now < 120 * MIN_MS {
            match p.status(&s, t(now)) {
                SessionStatus::Valid { touch } => {
                    if let Some(idle) = touch {
                        s.last_seen_at = t(now);
                        s.idle_expires_at = idle;
                    }
                }
                SessionStatus::Expired => panic!("expired early at {now}"),
            }
            now += 20 * MIN_MS;
        }
        assert_eq!(s.idle_expires_at, t(120 * MIN_MS));
        assert_eq!(
            p.status(&s, t(120 * MIN_MS - 1)),
            SessionStatus::Valid {
                touch: Some(t(120 * MIN_MS))
            }
        );
        assert_eq!(p.status(&s, t(120 * MIN_MS)), SessionStatus::Expired);
    }

    #[test]
    fn idle_expiry_never_exceeds_absolute_at_start() {
        let p = SessionPolicy {
            idle_timeout: 10 * MIN,
            absolute_timeout: 5 * MIN,
            touch_interval: MIN,
        };
        let s = session(&p, false);
        assert_eq!(s.idle_expires_at, t(5 * MIN_MS));
    }

    #[test]
    fn only_remembered_sessions_get_a_max_age() {
        let p = policy();
        assert_eq!(p.cookie_max_age(&session(&p, false), t(0)), None);
        assert_eq!(
            p.cookie_max_age(&session(&p, true), t(MIN_MS)),
            Some(119 * MIN)
        );
    }

    #[test]
    fn user_agent_is_bounded_and_cleaned() {
        let long = format!("{}é\n", "a".repeat(255));
        let s = SessionPolicy::default().start(
            SessionHandle::from_random([1; 16]),
            UserId::from_random([2; 16]),
            t(0),
            false,
            Some(&long),
            None,
        );
        assert_eq!(s.user_agent.as_deref(), Some("a".repeat(255).as_str()));
    }
}
