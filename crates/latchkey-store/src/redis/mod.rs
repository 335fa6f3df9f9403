//! Redis in front of a durable store: [`RedisCached`].
//!
//! The durable store (PostgreSQL; SQLite works too) stays the source of
//! truth for everything. Redis adds the shared hot path:
//!
//! * a **session cache** for `session_by_secret` (`cache.rs`: leases and
//!   tombstones, so a concurrent reader never puts back what a write just
//!   invalidated);
//! * **login-failure windows** counted in Redis by all nodes (`failures.rs`);
//! * **revocation fan-out**: a `PUBLISH` after every recorded revocation,
//!   and `watch_revocations` subscribed to it (`fanout.rs`) as well as to
//!   the durable store's own channel (PostgreSQL NOTIFY).
//!
//! Everything else — users, server secrets, keys, refresh rotation, the
//! revocation log — passes straight through, so refresh rotation stays
//! exactly-once in the durable store.
//!
//! # Rules
//!
//! **Write first, then invalidate.** Every write that changes or ends a
//! session goes to the durable store first; only then is the cache entry
//! deleted.
//!
//! **Fail closed, not down.** Every Redis call is bounded (250 ms reply,
//! 1 s connect, 300 ms overall); after a failure, reads skip Redis for 1 s.
//! Whatever Redis cannot answer is answered by the durable store. No Redis
//! failure is ever returned to the caller, and nothing here panics.
//!
//! **A failed invalidation distrusts the cache.** If deleting a cache entry
//! fails, the entry may survive, stale, for up to its TTL (60 s) plus a
//! lease (5 s). This node then reads no cached session for those 65 s
//! (extended by any further failure). Other nodes are covered by the
//! revocation log instead: every ended session records its `sid`
//! revocation durably, and a node never serves a cached session whose
//! `sid` revocation it has seen — recorded here, or read by its revocation
//! poll (`revocations_since`, which this wrapper watches). So a session
//! ended anywhere stops being served from cache everywhere as fast as
//! revocations travel (pub/sub or NOTIFY: milliseconds; the poll: 1 s),
//! whatever happened to the cache entry. (A failed invalidation after a
//! *touch* leaves other nodes an older last-seen time for at most 65 s:
//! they may touch again, which is harmless since touches only move
//! forward.)
//!
//! **Redis cannot make a session.** Every cached entry is authenticated
//! with an HMAC whose key is a server secret of the durable store
//! (`mac.rs`), bound to the secret hash it is cached under; an entry that
//! does not verify is ignored, and the durable store answers.
//!
//! **No clock.** Times in the store contract come from the caller. Cache
//! entries live a fixed 60 s (not "until idle expiry", which would need the
//! clock): serving an expired session is harmless, because entries hold
//! the same timestamps as the store and the caller applies the expiry
//! policy to them, as it does to what the store returns.
//!
//! # Use
//!
//! ```no_run
//! # async fn example() -> latchkey_store::Result<()> {
//! use std::sync::Arc;
//! use latchkey_store::{Store, redis::RedisCached};
//!
//! # let clock: Arc<dyn latchkey_core::Clock> = Arc::new(latchkey_core::ManualClock::new(latchkey_core::Timestamp::from_unix_millis(0)));
//! let durable = latchkey_store::open("postgres://latchkey@db/latchkey").await?;
//! let store: Arc<dyn Store> = Arc::new(
//!     RedisCached::connect(durable, "redis://127.0.0.1:6379", "latchkey:".into(), clock).await?,
//! );
//! // As with any store: `watch_revocations` once (now woken by Redis
//! // pub/sub and PostgreSQL NOTIFY), `revocations_since` for the denylist.
//! # Ok(()) }
//! ```
//!
//! Redis is used as a single server (scripts touch only their `KEYS`, but
//! multi-key calls assume one node); a key prefix separates deployments.

#[macro_use]
mod wrap;

mod admin;
mod audit;
mod cache;
mod codec;
mod conn;
mod email;
mod ended;
mod failures;
mod fanout;
mod federation;
mod groups;
mod health;
mod mac;
mod mfa;
mod passkeys;
mod sessions;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::refresh::RefreshHash;
use latchkey_core::revocation::Revocation;
use latchkey_core::{Assurance, Clock, PasswordHash, Timestamp, UserId, Username};
use tokio::sync::{mpsc, watch};

use crate::{
    Ended, Family, Keep, KeyRecord, Keys, RefreshOutcome, RefreshTokens, Result, Revocations,
    RevokeAt, Secrets, Store, User, Users,
};
use cache::SessionCache;
use conn::Redis;
use ended::EndedSids;

/// A durable store with Redis in front of it (see the [module
/// documentation](self) for what is cached, and the rules that keep it
/// correct when Redis fails).
pub struct RedisCached<S: ?Sized = dyn Store> {
    inner: Arc<S>,
    redis: Arc<Redis>,
    cache: SessionCache,
    ended: EndedSids,
    closing: watch::Sender<bool>,
}

impl<S: ?Sized> std::fmt::Debug for RedisCached<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCached")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}

impl<S: Store + ?Sized> RedisCached<S> {
    /// What a passed-through call goes through: nothing (see `wrap!`).
    async fn passed<T>(&self, op: impl Future<Output = T>) -> T {
        op.await
    }

    /// Puts Redis at `redis_url` (`redis://[user:password@]host[:port][/db]`,
    /// `rediss://` is not enabled) in front of `inner`, with every key
    /// under `prefix` (e.g. `latchkey:`; one per deployment sharing a
    /// Redis).
    ///
    /// Reads (or, on first start, makes) the key that authenticates cache
    /// entries from `inner`: it is a server secret of the durable store,
    /// never written to Redis.
    ///
    /// Fails on a malformed URL, or when `inner` cannot give the key. The
    /// connection is made on first use
    /// and remade after failures, so a Redis that is down at start, or goes
    /// away later, only slows requests down to the durable store's pace.
    /// Its circuit and cache-trust deadlines read `clock`'s monotonic time.
    /// Call [`Store::watch_revocations`] once to receive fan-out wake-ups.
    pub async fn connect(
        inner: Arc<S>,
        redis_url: &str,
        prefix: String,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let redis = Arc::new(Redis::new(
            redis_url,
            prefix,
            cache::CACHE_TTL + cache::LEASE_TTL,
            clock,
        )?);
        let key = mac::CacheKey::from_store(inner.as_ref()).await?;
        let this = Self {
            inner,
            cache: SessionCache::new(redis.clone(), key),
            redis,
            ended: EndedSids::default(),
            closing: watch::channel(false).0,
        };
        if this.redis_ping().await {
            tracing::info!(prefix = this.redis.prefix(), "Redis connected");
        }
        Ok(this)
    }

    /// The durable store behind the cache.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    /// Whether Redis answers a `PING` now (for logs and metrics; readiness
    /// is the durable store's, see [`Store::ping`]).
    pub async fn redis_ping(&self) -> bool {
        self.redis
            .call("ping", |mut c| async move {
                ::redis::cmd("PING").query_async::<String>(&mut c).await
            })
            .await
            .is_ok()
    }

    /// Redis calls that failed or timed out since [`connect`](Self::connect)
    /// (each one answered by the durable store instead).
    pub fn redis_failures(&self) -> u64 {
        self.redis.failures()
    }

    /// Notes what an operation revoked, and announces it to other nodes.
    fn revoked(&self, entries: &[Revocation]) {
        if !entries.is_empty() {
            self.ended.note(entries);
            fanout::announce(&self.redis);
        }
    }

    fn ended(&self, result: &Result<Ended>) {
        if let Ok(ended) = result {
            self.revoked(&ended.revocations);
        }
    }
}

wrap! {
    impl Users {
        pass {
            fn create_user(&self, user: &User) -> Result<()>;
            fn user_by_name(&self, username: &Username) -> Result<Option<User>>;
            fn user_by_id(&self, id: UserId) -> Result<Option<User>>;
            fn rehash_password(&self, id: UserId, hash: &PasswordHash) -> Result<()>;
        }

        async fn replace_password(
            &self,
            id: UserId,
            hash: &PasswordHash,
            keep: Keep<'_>,
            at: RevokeAt<'_>,
        ) -> Result<Ended> {
            let result = self.inner.replace_password(id, hash, keep, at).await;
            self.cache.forget_user(id).await;
            self.ended(&result);
            result
        }
    }
}

wrap! {
    impl Secrets {
        pass {
            fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>>;
        }
    }
}

wrap! {
    impl RefreshTokens {
        pass {
            fn create_family(&self, family: &Family, first: &RefreshHash) -> Result<()>;
            fn family_of(&self, token: &RefreshHash) -> Result<Option<Family>>;
            /// Families are not cached.
            fn reauthenticate_family(
                &self,
                id: &str,
                added: &[String],
                at: Timestamp,
            ) -> Result<Option<Assurance>>;
            fn sweep_families(&self, now: Timestamp) -> Result<u64>;
            fn list_families(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Family>>;
        }

        async fn refresh(
            &self,
            presented: &RefreshHash,
            successor: &RefreshHash,
            at: RevokeAt<'_>,
            grace: Duration,
        ) -> Result<RefreshOutcome> {
            let outcome = self.inner.refresh(presented, successor, at, grace).await;
            if let Ok(RefreshOutcome::Reused { revocations, .. }) = &outcome {
                self.revoked(revocations);
            }
            outcome
        }

        async fn revoke_family(&self, id: &str, at: RevokeAt<'_>) -> Result<Ended> {
            let result = self.inner.revoke_family(id, at).await;
            self.ended(&result);
            result
        }
    }
}

#[async_trait]
impl<S: Store + ?Sized> Revocations for RedisCached<S> {
    async fn add_revocations(&self, entries: &[Revocation]) -> Result<()> {
        self.inner.add_revocations(entries).await?;
        self.revoked(entries);
        Ok(())
    }

    async fn revocations_since(
        &self,
        cursor: i64,
        now: Timestamp,
    ) -> Result<(Vec<Revocation>, i64)> {
        let (entries, next) = self.inner.revocations_since(cursor, now).await?;
        self.ended.note(&entries);
        self.ended.prune(now);
        Ok((entries, next))
    }

    async fn prune_revocations(&self, now: Timestamp) -> Result<u64> {
        self.ended.prune(now);
        self.inner.prune_revocations(now).await
    }
}

wrap! {
    impl Keys {
        pass {
            fn keys(&self) -> Result<Vec<KeyRecord>>;
            fn add_first_key(&self, key: &KeyRecord) -> Result<bool>;
            fn rotate_key(
                &self,
                key: &KeyRecord,
                now: Timestamp,
                retired_not_after: Timestamp,
            ) -> Result<()>;
            fn delete_expired_keys(&self, now: Timestamp) -> Result<u64>;
            fn seal_key(&self, kid: &str, sealed_private: &[u8]) -> Result<bool>;
        }
    }
}

#[async_trait]
impl<S: Store + ?Sized> Store for RedisCached<S> {
    /// The durable store's answer only: a node without Redis still serves
    /// correctly, so Redis is not part of readiness (see
    /// [`RedisCached::redis_ping`]).
    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }

    fn backend(&self) -> &'static str {
        match self.inner.backend() {
            "postgres" => "postgres+redis",
            "sqlite" => "sqlite+redis",
            _ => "redis",
        }
    }

    async fn close(&self) {
        self.closing.send_replace(true);
        self.inner.close().await;
    }

    /// Wakes on Redis pub/sub announcements *and* on the durable store's
    /// own channel, so revocations still travel fast when Redis is away.
    async fn watch_revocations(&self, wake: mpsc::Sender<()>) {
        fanout::spawn_watch(self.redis.clone(), wake.clone(), self.closing.subscribe());
        self.inner.watch_revocations(wake).await;
    }
}
