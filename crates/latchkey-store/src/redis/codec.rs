//! The cached form of a session and its user's name: a tag byte, a format
//! version, then the fields — strings as a `u32` length and UTF-8 bytes,
//! times as big-endian `i64` milliseconds, options as a presence byte.
//! Decoding goes through the same parsing constructors as the SQL
//! backends, so a cache entry can never hold what the store could not.
//!
//! A cache value is either this (tag `S`) followed by its HMAC tag (see
//! `mac.rs`: nothing is decoded before the tag verifies), or a fill lease
//! (tag `L`, see `cache.rs`).

use latchkey_core::{Assurance, Session, SessionHandle, Timestamp, UserId, Username};

pub(crate) const SESSION_TAG: u8 = b'S';
pub(crate) const LEASE_TAG: u8 = b'L';
/// 2: with the session's `amr` and `auth_time`.
const VERSION: u8 = 2;

pub(crate) fn encode(session: &Session, username: &Username) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(&[SESSION_TAG, VERSION]);
    put_str(&mut out, session.handle.as_str());
    put_str(&mut out, &session.user_id.to_string());
    put_str(&mut out, username.as_str());
    for t in [
        session.created_at,
        session.last_seen_at,
        session.idle_expires_at,
        session.absolute_expires_at,
    ] {
        out.extend_from_slice(&t.unix_millis().to_be_bytes());
    }
    out.push(u8::from(session.persistent));
    put_opt(&mut out, session.user_agent.as_deref());
    put_opt(&mut out, session.ip.as_deref());
    put_str(&mut out, &session.assurance.amr_text());
    out.extend_from_slice(&session.assurance.auth_time.unix_millis().to_be_bytes());
    out
}

/// The session in `bytes`, or `None` if they are not one this version
/// wrote (then the entry is ignored, and overwritten in time).
pub(crate) fn decode(bytes: &[u8]) -> Option<(Session, Username)> {
    let mut r = Reader(bytes);
    if r.take(2)? != [SESSION_TAG, VERSION] {
        return None;
    }
    let handle = SessionHandle::parse(r.str()?).ok()?;
    let user_id = UserId::parse(r.str()?).ok()?;
    let username = Username::parse(r.str()?).ok()?;
    let created_at = r.time()?;
    let last_seen_at = r.time()?;
    let idle_expires_at = r.time()?;
    let absolute_expires_at = r.time()?;
    let persistent = match r.take(1)? {
        [0] => false,
        [1] => true,
        _ => return None,
    };
    let user_agent = r.opt()?.map(str::to_owned);
    let ip = r.opt()?.map(str::to_owned);
    let amr = Assurance::amr_from_text(r.str()?);
    let auth_time = r.time()?;
    if !r.0.is_empty() {
        return None;
    }
    let session = Session {
        handle,
        user_id,
        created_at,
        last_seen_at,
        idle_expires_at,
        absolute_expires_at,
        persistent,
        user_agent,
        ip,
        assurance: Assurance { amr, auth_time },
    };
    Some((session, username))
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Every field is far below 4 GiB (the user agent is cut at 256 bytes).
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..len as usize]);
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().ok()?);
        std::str::from_utf8(self.take(usize::try_from(len).ok()?)?).ok()
    }

    fn time(&mut self) -> Option<Timestamp> {
        let ms = i64::from_be_bytes(self.take(8)?.try_into().ok()?);
        Some(Timestamp::from_unix_millis(ms))
    }

    fn opt(&mut self) -> Option<Option<&'a str>> {
        match self.take(1)? {
            [0] => Some(None),
            [1] => self.str().map(Some),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample(user_agent: Option<&str>, ip: Option<&str>, persistent: bool) -> Session {
        Session {
            handle: SessionHandle::from_random([7; 16]),
            user_id: UserId::from_random([3; 16]),
            created_at: Timestamp::from_unix_millis(1_800_000_000_000),
            last_seen_at: Timestamp::from_unix_millis(1_800_000_060_000),
            idle_expires_at: Timestamp::from_unix_millis(1_800_001_860_000),
            absolute_expires_at: Timestamp::from_unix_millis(1_800_604_800_000),
            persistent,
            user_agent: user_agent.map(str::to_owned),
            ip: ip.map(str::to_owned),
            assurance: Assurance::new(
                ["pwd", "otp"],
                Timestamp::from_unix_millis(1_800_000_030_000),
            ),
        }
    }

    #[test]
    fn sessions_round_trip_through_the_cache_format() {
        let name = Username::parse("alice").unwrap();
        for s in [
            sample(
                Some("Mozilla/5.0 (X11) ü \u{0}|\n"),
                Some("2001:db8::1"),
                true,
            ),
            sample(None, None, false),
            sample(Some(""), None, true),
        ] {
            let bytes = encode(&s, &name);
            assert_eq!(decode(&bytes), Some((s, name.clone())));
        }
    }

    #[test]
    fn anything_else_is_not_a_cached_session() {
        let name = Username::parse("alice").unwrap();
        let bytes = encode(&sample(Some("ua"), Some("192.0.2.1"), true), &name);
        // Every truncation, an extra byte, another version, a lease.
        for n in 0..bytes.len() {
            assert_eq!(decode(&bytes[..n]), None, "truncated at {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        let mut other_version = bytes.clone();
        other_version[1] = VERSION + 1;
        assert_eq!(decode(&other_version), None);
        assert_eq!(decode(b"L123-4"), None);
    }
}
