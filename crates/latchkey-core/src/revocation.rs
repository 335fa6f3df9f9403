//! The access-token denylist: by token id (`jti`), by session (`sid`), and
//! a per-user not-before. Held in memory on every node (a lookup per
//! request), loaded from and written through to the store, and pruned when
//! the tokens it covers have expired — an entry never needs to outlive the
//! longest access-token lifetime.

use std::collections::HashMap;

use crate::Timestamp;

/// What an entry revokes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// One access token.
    Jti(String),
    /// Every access token of a session or refresh family.
    Sid(String),
    /// Every access token of a user issued before `not_before`.
    User(String),
}

/// One denylist entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub target: Target,
    /// When it was revoked; for `User`, tokens issued before this second
    /// are refused.
    pub at: Timestamp,
    /// After this, every token it could cover has expired: drop it.
    pub expires_at: Timestamp,
}

/// The in-memory denylist.
#[derive(Clone, Debug, Default)]
pub struct Denylist {
    jti: HashMap<String, Timestamp>,
    sid: HashMap<String, Timestamp>,
    /// user id → (not-before in whole seconds, entry expiry)
    user: HashMap<String, (i64, Timestamp)>,
}

impl Denylist {
    pub fn insert(&mut self, r: &Revocation) {
        match &r.target {
            Target::Jti(j) => keep_later(&mut self.jti, j, r.expires_at),
            Target::Sid(s) => keep_later(&mut self.sid, s, r.expires_at),
            Target::User(u) => {
                // Seconds, rounded down: a token issued in the same second
                // as the revocation is not caught here, but its session is
                // revoked by `Sid` as well, and a fresh login in that
                // second keeps working.
                let nbf = r.at.unix_seconds();
                let entry = self.user.entry(u.clone()).or_insert((nbf, r.expires_at));
                entry.0 = entry.0.max(nbf);
                entry.1 = entry.1.max(r.expires_at);
            }
        }
    }

    /// Whether a token with these claims is revoked.
    pub fn is_revoked(&self, jti: &str, sid: &str, sub: &str, iat: i64) -> bool {
        self.jti.contains_key(jti)
            || self.sid.contains_key(sid)
            || self.user.get(sub).is_some_and(|(nbf, _)| iat < *nbf)
    }

    /// Whether session or family `sid` has been revoked.
    pub fn sid_revoked(&self, sid: &str) -> bool {
        self.sid.contains_key(sid)
    }

    /// Drops entries whose tokens have all expired at `now`.
    pub fn prune(&mut self, now: Timestamp) {
        self.jti.retain(|_, exp| *exp > now);
        self.sid.retain(|_, exp| *exp > now);
        self.user.retain(|_, (_, exp)| *exp > now);
    }

    pub fn len(&self) -> usize {
        self.jti.len() + self.sid.len() + self.user.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn keep_later(map: &mut HashMap<String, Timestamp>, key: &str, exp: Timestamp) {
    let e = map.entry(key.to_owned()).or_insert(exp);
    *e = (*e).max(exp);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_millis(s * 1000)
    }

    fn rev(target: Target, at: i64, exp: i64) -> Revocation {
        Revocation {
            target,
            at: t(at),
            expires_at: t(exp),
        }
    }

    #[test]
    fn each_kind_revokes_what_it_names_only() {
        let mut d = Denylist::default();
        d.insert(&rev(Target::Jti("j1".into()), 100, 400));
        d.insert(&rev(Target::Sid("s1".into()), 100, 400));
        d.insert(&rev(Target::User("u1".into()), 100, 400));
        assert!(d.is_revoked("j1", "s9", "u9", 200));
        assert!(d.is_revoked("j9", "s1", "u9", 200));
        assert!(d.is_revoked("j9", "s9", "u1", 99));
        assert!(!d.is_revoked("j9", "s9", "u1", 100), "same second passes");
        assert!(!d.is_revoked("j9", "s9", "u9", 50));
    }

    #[test]
    fn prune_drops_exactly_the_expired() {
        let mut d = Denylist::default();
        d.insert(&rev(Target::Jti("a".into()), 0, 300));
        d.insert(&rev(Target::Sid("b".into()), 0, 301));
        d.prune(t(300));
        assert!(!d.is_revoked("a", "-", "-", 0));
        assert!(d.is_revoked("-", "b", "-", 0));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn a_later_user_revocation_moves_not_before_forward_only() {
        let mut d = Denylist::default();
        d.insert(&rev(Target::User("u".into()), 200, 500));
        d.insert(&rev(Target::User("u".into()), 100, 400));
        assert!(d.is_revoked("-", "-", "u", 199));
    }
}
