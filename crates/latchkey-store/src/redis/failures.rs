//! Login-failure windows in Redis, shared by every node: a hash
//! `{prefix}fail:{key}` = `{c: count, s: started_at}` that expires when its
//! window ends, updated by one script per failure (so concurrent failures
//! on any number of nodes are all counted), plus a sorted set of keys by
//! window start so that `sweep_failures` keeps the store contract without
//! scanning the keyspace.
//!
//! Time comes from the caller (`now`), never from Redis: the script applies
//! exactly [`FailureWindow::after_failure`], and the expiry is set relative
//! to `now`. When Redis cannot be used, every call goes to the durable store
//! instead (slower, and counts made there are not seen through Redis once
//! it is back: a node may briefly count from zero again, never refuse
//! wrongly because of Redis).

use std::sync::LazyLock;
use std::time::Duration;

use ::redis::Script;
use async_trait::async_trait;
use latchkey_core::Timestamp;
use latchkey_core::throttle::FailureWindow;

use super::RedisCached;
use super::conn::millis;
use crate::{LoginFailures, Result, Store, StoreError};

/// KEYS: window, index. ARGV: now (ms), window (ms). `{count, started_at}`.
static RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local count = 1
local started = now
local old = redis.call('HMGET', KEYS[1], 'c', 's')
if old[1] and old[2] and tonumber(old[2]) + window > now then
  count = math.min(tonumber(old[1]) + 1, 4294967295)
  started = tonumber(old[2])
end
redis.call('HSET', KEYS[1], 'c', count, 's', started)
redis.call('PEXPIRE', KEYS[1], math.max(started + window - now, 1))
redis.call('ZADD', KEYS[2], started, KEYS[1])
return {count, started}",
    )
});

/// KEYS: window. Takes back one failure, never below zero.
static FORGIVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local c = redis.call('HGET', KEYS[1], 'c')
if c and tonumber(c) > 0 then redis.call('HINCRBY', KEYS[1], 'c', -1) end
return 0",
    )
});

/// KEYS: index, then windows. ARGV: cutoff (ms). Deletes the windows that
/// started before the cutoff; returns how many.
static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local cutoff = tonumber(ARGV[1])
local n = 0
for i = 2, #KEYS do
  local s = redis.call('HGET', KEYS[i], 's')
  if not s then
    redis.call('ZREM', KEYS[1], KEYS[i])
  elseif tonumber(s) < cutoff then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], KEYS[i])
    n = n + 1
  else
    redis.call('ZADD', KEYS[1], tonumber(s), KEYS[i])
  end
end
return n",
    )
});

/// Windows examined per sweep step.
const SWEEP_BATCH: usize = 256;

fn window(count: i64, started_at: i64) -> Result<FailureWindow> {
    Ok(FailureWindow {
        count: u32::try_from(count)
            .map_err(|_| StoreError::Corrupt(format!("failure count {count}")))?,
        started_at: Timestamp::from_unix_millis(started_at),
    })
}

impl<S: Store + ?Sized> RedisCached<S> {
    /// Deletes the Redis windows that started before `cutoff`.
    async fn sweep_redis_failures(&self, cutoff: Timestamp) -> u64 {
        let index = self.redis.failure_index();
        let mut swept = 0;
        loop {
            let batch = self
                .redis
                .read("failure sweep", |mut c| {
                    let cmd = ::redis::cmd("ZRANGEBYSCORE")
                        .arg(&index)
                        .arg("-inf")
                        .arg(format!("({}", cutoff.unix_millis()))
                        .arg("LIMIT")
                        .arg(0)
                        .arg(SWEEP_BATCH)
                        .to_owned();
                    async move { cmd.query_async::<Vec<String>>(&mut c).await }
                })
                .await;
            let Ok(keys) = batch else { return swept };
            if keys.is_empty() {
                return swept;
            }
            let done = self
                .redis
                .read("failure sweep", |mut c| {
                    let mut call = SWEEP.prepare_invoke();
                    call.key(&index).arg(cutoff.unix_millis());
                    for k in &keys {
                        call.key(k);
                    }
                    async move { call.invoke_async::<u64>(&mut c).await }
                })
                .await;
            let Ok(n) = done else { return swept };
            swept += n;
            if keys.len() < SWEEP_BATCH {
                return swept;
            }
        }
    }
}

#[async_trait]
impl<S: Store + ?Sized> LoginFailures for RedisCached<S> {
    async fn failures(&self, key: &str) -> Result<Option<FailureWindow>> {
        let k = self.redis.failure_key(key);
        let found = self
            .redis
            .read("failure read", |mut c| async move {
                ::redis::cmd("HMGET")
                    .arg(&k)
                    .arg("c")
                    .arg("s")
                    .query_async::<(Option<i64>, Option<i64>)>(&mut c)
                    .await
            })
            .await;
        match found {
            Ok((Some(count), Some(started))) => window(count, started).map(Some),
            Ok(_) => Ok(None),
            Err(_) => self.inner.failures(key).await,
        }
    }

    async fn record_failure(
        &self,
        key: &str,
        span: Duration,
        now: Timestamp,
    ) -> Result<FailureWindow> {
        let k = self.redis.failure_key(key);
        let index = self.redis.failure_index();
        let counted = self
            .redis
            .read("failure count", |mut c| {
                let mut call = RECORD.prepare_invoke();
                call.key(&k)
                    .key(&index)
                    .arg(now.unix_millis())
                    .arg(millis(span));
                async move { call.invoke_async::<(i64, i64)>(&mut c).await }
            })
            .await;
        match counted {
            Ok((count, started)) => window(count, started),
            Err(_) => self.inner.record_failure(key, span, now).await,
        }
    }

    async fn clear_failures(&self, key: &str) -> Result<()> {
        let k = self.redis.failure_key(key);
        let index = self.redis.failure_index();
        let done = self
            .redis
            .read("failure clear", |mut c| async move {
                ::redis::pipe()
                    .cmd("DEL")
                    .arg(&k)
                    .ignore()
                    .cmd("ZREM")
                    .arg(&index)
                    .arg(&k)
                    .ignore()
                    .exec_async(&mut c)
                    .await
            })
            .await;
        match done {
            Ok(()) => Ok(()),
            Err(_) => self.inner.clear_failures(key).await,
        }
    }

    async fn forgive_failure(&self, key: &str) -> Result<()> {
        let k = self.redis.failure_key(key);
        let done = self
            .redis
            .read("failure forgive", |mut c| {
                let mut call = FORGIVE.prepare_invoke();
                call.key(&k);
                async move { call.invoke_async::<i64>(&mut c).await }
            })
            .await;
        match done {
            Ok(_) => Ok(()),
            Err(_) => self.inner.forgive_failure(key).await,
        }
    }

    /// Windows in Redis also expire by themselves when they end; this keeps
    /// the contract exact (and the index small), and sweeps whatever the
    /// durable store counted while Redis was away.
    async fn sweep_failures(&self, cutoff: Timestamp) -> Result<u64> {
        let in_redis = self.sweep_redis_failures(cutoff).await;
        Ok(in_redis + self.inner.sweep_failures(cutoff).await?)
    }
}
