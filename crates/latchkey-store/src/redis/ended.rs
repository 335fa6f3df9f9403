//! The `sid`s this node knows to be revoked, so that a cached session is
//! never served after its revocation has reached the node — whether or not
//! the cache entry was deleted (the node that ended it may have been cut
//! off from Redis).
//!
//! Fed by every revocation passing through the wrapper: those this node
//! records, and those it reads back with `revocations_since` (the server's
//! revocation poll, woken by pub/sub or NOTIFY). Entries leave when the
//! revocation expires; by then no cache entry from before it exists.

use std::collections::HashMap;
use std::sync::Mutex;

use latchkey_core::Timestamp;
use latchkey_core::revocation::{Revocation, Target};

#[derive(Debug, Default)]
pub(crate) struct EndedSids(Mutex<HashMap<String, Timestamp>>);

impl EndedSids {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Timestamp>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn note(&self, entries: &[Revocation]) {
        let mut map = self.lock();
        for r in entries {
            if let Target::Sid(sid) = &r.target {
                let until = map.entry(sid.clone()).or_insert(r.expires_at);
                *until = (*until).max(r.expires_at);
            }
        }
    }

    pub(crate) fn contains(&self, sid: &str) -> bool {
        self.lock().contains_key(sid)
    }

    /// Forgets revocations that have expired at `now`.
    pub(crate) fn prune(&self, now: Timestamp) {
        self.lock().retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(target: Target, expires: i64) -> Revocation {
        Revocation {
            target,
            at: Timestamp::from_unix_millis(0),
            expires_at: Timestamp::from_unix_millis(expires),
        }
    }

    #[test]
    fn sids_are_remembered_until_their_revocation_expires() {
        let ended = EndedSids::default();
        ended.note(&[
            entry(Target::Sid("s1".into()), 100),
            entry(Target::Jti("j1".into()), 100),
            entry(Target::User("u1".into()), 100),
        ]);
        ended.note(&[entry(Target::Sid("s1".into()), 50)]);
        assert!(ended.contains("s1"));
        assert!(!ended.contains("j1") && !ended.contains("u1"));
        ended.prune(Timestamp::from_unix_millis(99));
        assert!(ended.contains("s1"));
        ended.prune(Timestamp::from_unix_millis(100));
        assert!(!ended.contains("s1"));
    }
}
