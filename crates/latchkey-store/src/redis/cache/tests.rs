//! The protocol step by step, against the Redis named by
//! `LATCHKEY_TEST_REDIS_URL` (skipped, with one line, without it).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::io::Write as _;
use std::sync::Once;

use latchkey_core::{SessionHandle, SessionSecret, Timestamp};

use super::*;

const VAR: &str = "LATCHKEY_TEST_REDIS_URL";

async fn cache() -> Option<(SessionCache, Arc<Redis>)> {
    static SKIP: Once = Once::new();
    let url = match std::env::var(VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            SKIP.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: set {VAR} to run the Redis cache protocol tests"
                );
            });
            return None;
        }
    };
    static N: AtomicU64 = AtomicU64::new(0);
    let prefix = format!(
        "lkunit:{}:{:016x}:{}:",
        std::process::id(),
        RandomState::new().hash_one(0u8),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let clock = Arc::new(latchkey_core::ManualClock::new(
        latchkey_core::Timestamp::from_unix_millis(0),
    ));
    let redis = Arc::new(Redis::new(&url, prefix, CACHE_TTL + LEASE_TTL, clock).unwrap());
    let pong = redis
        .call("ping", |mut c| async move {
            ::redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await;
    assert!(pong.is_ok(), "{VAR} is set but Redis is unreachable");
    let key = CacheKey::from_bytes(&[5; 32]);
    Some((SessionCache::new(redis.clone(), key), redis))
}

/// Deletes every key under the test's prefix.
async fn clean(redis: &Redis) {
    let pattern = format!("{}*", redis.prefix());
    let keys = redis
        .call("scan", |mut c| async move {
            let mut keys = Vec::new();
            let mut cursor = 0u64;
            loop {
                let (next, batch): (u64, Vec<String>) = ::redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .query_async(&mut c)
                    .await?;
                keys.extend(batch);
                if next == 0 {
                    return Ok(keys);
                }
                cursor = next;
            }
        })
        .await
        .unwrap();
    if !keys.is_empty() {
        let _ = redis
            .call("del", |mut c| async move {
                ::redis::cmd("DEL")
                    .arg(&keys)
                    .query_async::<i64>(&mut c)
                    .await
            })
            .await;
    }
}

fn sample(n: u8) -> (SessionSecretHash, Session, Username) {
    let t = Timestamp::from_unix_millis(1_800_000_000_000);
    let session = Session {
        handle: SessionHandle::from_random([n; 16]),
        user_id: UserId::from_random([1; 16]),
        created_at: t,
        last_seen_at: t,
        idle_expires_at: t,
        absolute_expires_at: t,
        persistent: false,
        user_agent: None,
        ip: None,
        assurance: latchkey_core::Assurance::new(["pwd"], t),
    };
    let secret = SessionSecret::from_random([n; 32]).hash();
    (secret, session, Username::parse("alice").unwrap())
}

async fn leased(cache: &SessionCache, secret: &SessionSecretHash) -> Vec<u8> {
    match cache.lookup(secret).await {
        Lookup::Leased(lease) => lease,
        other => panic!("expected a lease, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reader_whose_lease_a_write_removed_cannot_fill() {
    let Some((cache, redis)) = cache().await else {
        return;
    };
    let (secret, session, name) = sample(1);
    let lease = leased(&cache, &secret).await;
    // The reader has read the store; now a logout or touch commits and
    // invalidates before the reader fills.
    assert!(cache.forget_secret(&secret).await);
    assert!(!cache.fill(&secret, &lease, &session, &name).await);
    assert!(matches!(cache.lookup(&secret).await, Lookup::Leased(_)));
    clean(&redis).await;
}

#[tokio::test]
async fn a_fill_after_an_end_by_handle_or_by_user_is_refused() {
    let Some((cache, redis)) = cache().await else {
        return;
    };
    let (secret, session, name) = sample(1);
    let lease = leased(&cache, &secret).await;
    assert!(cache.forget_handles(&[session.handle.as_str()]).await);
    assert!(!cache.fill(&secret, &lease, &session, &name).await);

    let (secret, session, name) = sample(2);
    let lease = leased(&cache, &secret).await;
    assert!(cache.forget_user(session.user_id).await);
    assert!(!cache.fill(&secret, &lease, &session, &name).await);
    clean(&redis).await;
}

#[tokio::test]
async fn ends_by_handle_and_by_user_remove_what_was_cached() {
    let Some((cache, redis)) = cache().await else {
        return;
    };
    let samples = [sample(1), sample(2), sample(3)];
    for (secret, session, name) in &samples {
        let lease = leased(&cache, secret).await;
        assert!(cache.fill(secret, &lease, session, name).await);
        let Lookup::Hit(hit, hit_name) = cache.lookup(secret).await else {
            panic!("expected a hit");
        };
        assert_eq!((&hit, &hit_name), (session, name));
    }
    assert!(cache.forget_handles(&[samples[0].1.handle.as_str()]).await);
    assert!(matches!(
        cache.lookup(&samples[0].0).await,
        Lookup::Leased(_)
    ));
    assert!(matches!(cache.lookup(&samples[1].0).await, Lookup::Hit(..)));
    assert!(cache.forget_user(samples[1].1.user_id).await);
    assert!(matches!(
        cache.lookup(&samples[1].0).await,
        Lookup::Leased(_)
    ));
    assert!(matches!(
        cache.lookup(&samples[2].0).await,
        Lookup::Leased(_)
    ));
    clean(&redis).await;
}

#[tokio::test]
async fn a_second_reader_during_a_fill_reads_the_store_and_a_release_frees_the_key() {
    let Some((cache, redis)) = cache().await else {
        return;
    };
    let (secret, session, name) = sample(1);
    let lease = leased(&cache, &secret).await;
    assert!(matches!(cache.lookup(&secret).await, Lookup::Bypass));
    cache.release(&secret, &lease).await;
    let lease = leased(&cache, &secret).await;
    assert!(cache.fill(&secret, &lease, &session, &name).await);
    // A stale lease cannot overwrite the entry.
    assert!(!cache.fill(&secret, &lease, &session, &name).await);
    cache.release(&secret, &lease).await;
    assert!(matches!(cache.lookup(&secret).await, Lookup::Hit(..)));
    clean(&redis).await;
}
