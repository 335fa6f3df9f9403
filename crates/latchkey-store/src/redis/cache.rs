//! The session cache protocol: how an entry gets into Redis, and how a
//! write gets it out again without a concurrent reader putting a stale
//! copy back.
//!
//! * **Read**: one script returns the entry, or — when there is none —
//!   stores a *lease* (a unique token, [`LEASE_TTL`]) in its place and
//!   says so. Only the lease holder may fill the entry, and only while its
//!   lease is still there (compare-and-set in [`FILL`]).
//! * **Write by secret** (touch, logout): after the durable write, `DEL`
//!   the entry. A reader that took its lease before the write loses it, so
//!   its fill (of what it read before the write) is refused; a reader that
//!   takes one after reads the new state.
//! * **Write by handle or by user** (end one session, log out everywhere,
//!   password change): the secret is unknown, so each fill also records
//!   `handle → secret` and adds the secret to the user's set, atomically.
//!   The write first sets a tombstone for the handle or user
//!   ([`TOMBSTONE_TTL`] > [`LEASE_TTL`]), which every fill checks, then
//!   deletes what the map and set point to. A fill that lands before the
//!   tombstone is found and deleted; one that would land after is refused.
//!
//! A write whose invalidation fails is reported to [`Health`] (the node
//! stops reading the cache until every entry that could be stale has
//! expired); the caller adds the other nodes' guard (revoked `sid`s).
//!
//! [`Health`]: super::health::Health

use std::hash::{BuildHasher as _, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::Script;
use latchkey_core::{Session, SessionSecretHash, UserId, Username};

use super::codec::{self, LEASE_TAG, SESSION_TAG};
use super::conn::{Redis, hex, millis};
use super::mac::CacheKey;

/// How long a session stays cached (an upper bound on staleness after a
/// failed invalidation).
pub(crate) const CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a reader may take between its lookup and its fill.
pub(crate) const LEASE_TTL: Duration = Duration::from_secs(5);
/// How long fills are refused after a session ended by handle or user.
pub(crate) const TOMBSTONE_TTL: Duration = Duration::from_secs(10);

/// KEYS: entry. ARGV: lease, lease TTL (ms). The entry, or nil when the
/// caller now holds the lease.
static LOOKUP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false",
    )
});

/// KEYS: entry, handle map, user set, handle tombstone, user tombstone.
/// ARGV: lease, value, TTL (ms), secret hash (hex). 1 if filled.
static FILL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[4], KEYS[5]) > 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1",
    )
});

/// KEYS: entry. ARGV: lease. Drops the lease if it is still ours.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0",
    )
});

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Hit(Session, Username),
    /// No entry; the caller holds this lease and may fill.
    Leased(Vec<u8>),
    /// Not served from the cache (another reader's lease, an unreadable
    /// entry, Redis unusable or untrusted): read the store, do not fill.
    Bypass,
}

#[derive(Debug)]
pub(crate) struct SessionCache {
    redis: Arc<Redis>,
    /// Authenticates every entry (see `mac.rs`).
    key: CacheKey,
    /// Makes this process's leases distinct from every other's.
    nonce: u64,
    next_lease: AtomicU64,
}

impl SessionCache {
    pub(crate) fn new(redis: Arc<Redis>, key: CacheKey) -> Self {
        Self {
            redis,
            key,
            nonce: RandomState::new().hash_one(std::process::id()),
            next_lease: AtomicU64::new(0),
        }
    }

    pub(crate) async fn lookup(&self, secret: &SessionSecretHash) -> Lookup {
        if !self.redis.health.cache_trusted(self.redis.now()) {
            return Lookup::Bypass;
        }
        let key = self.redis.session_key(secret);
        let n = self.next_lease.fetch_add(1, Ordering::Relaxed);
        let mut lease = vec![LEASE_TAG];
        lease.extend_from_slice(format!("{:016x}-{n}", self.nonce).as_bytes());
        let found = self
            .redis
            .read("session lookup", |mut c| {
                let mut call = LOOKUP.prepare_invoke();
                call.key(&key).arg(&lease).arg(millis(LEASE_TTL));
                async move { call.invoke_async::<Option<Vec<u8>>>(&mut c).await }
            })
            .await;
        match found {
            Ok(None) => Lookup::Leased(lease),
            Ok(Some(v)) if v.first() == Some(&SESSION_TAG) => {
                match self.key.open(secret.as_bytes(), &v).and_then(codec::decode) {
                    Some((session, name)) => Lookup::Hit(session, name),
                    None => {
                        tracing::warn!(
                            "session cache entry failed authentication or decoding; ignored"
                        );
                        Lookup::Bypass
                    }
                }
            }
            Ok(Some(_)) | Err(_) => Lookup::Bypass,
        }
    }

    /// Stores what the lease holder read; refused (`false`) if the lease
    /// was lost or a tombstone covers the session.
    pub(crate) async fn fill(
        &self,
        secret: &SessionSecretHash,
        lease: &[u8],
        session: &Session,
        username: &Username,
    ) -> bool {
        let secret_hex = hex(secret.as_bytes());
        let user = session.user_id.to_string();
        let handle = session.handle.as_str();
        let keys = [
            self.redis.session_key_hex(&secret_hex),
            self.redis.handle_key(handle),
            self.redis.user_sessions_key(&user),
            self.redis.handle_tombstone(handle),
            self.redis.user_tombstone(&user),
        ];
        let value = self
            .key
            .seal(secret.as_bytes(), codec::encode(session, username));
        let filled = self
            .redis
            .call("session fill", |mut c| {
                let mut call = FILL.prepare_invoke();
                for k in &keys {
                    call.key(k);
                }
                call.arg(lease)
                    .arg(value)
                    .arg(millis(CACHE_TTL))
                    .arg(&secret_hex);
                async move { call.invoke_async::<i64>(&mut c).await }
            })
            .await;
        // A failed fill leaves at most a lease, which expires by itself.
        matches!(filled, Ok(1))
    }

    /// Gives back a lease that will not be filled (nothing was found).
    pub(crate) async fn release(&self, secret: &SessionSecretHash, lease: &[u8]) {
        let key = self.redis.session_key(secret);
        let _ = self
            .redis
            .call("lease release", |mut c| {
                let mut call = RELEASE.prepare_invoke();
                call.key(&key).arg(lease);
                async move { call.invoke_async::<i64>(&mut c).await }
            })
            .await;
    }

    /// Invalidates the entry of one secret (after the durable write).
    pub(crate) async fn forget_secret(&self, secret: &SessionSecretHash) -> bool {
        let key = self.redis.session_key(secret);
        let done = self
            .redis
            .call("session invalidation", |mut c| async move {
                ::redis::cmd("DEL")
                    .arg(&key)
                    .query_async::<i64>(&mut c)
                    .await
            })
            .await;
        self.settle(done.is_ok())
    }

    /// Invalidates the entries of sessions ended by handle.
    pub(crate) async fn forget_handles(&self, handles: &[&str]) -> bool {
        if handles.is_empty() {
            return true;
        }
        let mut pipe = ::redis::pipe();
        for h in handles {
            pipe.cmd("SET")
                .arg(self.redis.handle_tombstone(h))
                .arg(1)
                .arg("PX")
                .arg(millis(TOMBSTONE_TTL))
                .ignore()
                .cmd("GET")
                .arg(self.redis.handle_key(h));
        }
        let found = self
            .redis
            .call("session invalidation", |mut c| async move {
                pipe.query_async::<Vec<Option<String>>>(&mut c).await
            })
            .await;
        let Ok(found) = found else {
            return self.settle(false);
        };
        let mut doomed: Vec<String> = handles.iter().map(|h| self.redis.handle_key(h)).collect();
        doomed.extend(
            found
                .iter()
                .flatten()
                .map(|s| self.redis.session_key_hex(s)),
        );
        self.delete(doomed).await
    }

    /// Invalidates every cached session of `user`.
    pub(crate) async fn forget_user(&self, user: UserId) -> bool {
        let user = user.to_string();
        let set = self.redis.user_sessions_key(&user);
        let mut pipe = ::redis::pipe();
        pipe.cmd("SET")
            .arg(self.redis.user_tombstone(&user))
            .arg(1)
            .arg("PX")
            .arg(millis(TOMBSTONE_TTL))
            .ignore()
            .cmd("SMEMBERS")
            .arg(&set);
        let found = self
            .redis
            .call("session invalidation", |mut c| async move {
                pipe.query_async::<(Vec<String>,)>(&mut c).await
            })
            .await;
        let Ok((members,)) = found else {
            return self.settle(false);
        };
        let mut doomed: Vec<String> = members
            .iter()
            .map(|s| self.redis.session_key_hex(s))
            .collect();
        doomed.push(set);
        self.delete(doomed).await
    }

    async fn delete(&self, keys: Vec<String>) -> bool {
        let done = self
            .redis
            .call("session invalidation", |mut c| async move {
                ::redis::cmd("DEL")
                    .arg(&keys)
                    .query_async::<i64>(&mut c)
                    .await
            })
            .await;
        self.settle(done.is_ok())
    }

    fn settle(&self, ok: bool) -> bool {
        if !ok {
            self.redis.health.invalidation_failed(self.redis.now());
            tracing::warn!(
                untrusted_for_s = (CACHE_TTL + LEASE_TTL).as_secs(),
                "could not invalidate a cached session; this node reads sessions \
                 from the durable store until every cached entry has expired"
            );
        }
        ok
    }
}

#[cfg(test)]
mod tests;
