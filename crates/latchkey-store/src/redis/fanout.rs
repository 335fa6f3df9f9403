//! Revocation fan-out over Redis pub/sub: after the durable store has
//! recorded revocations, `PUBLISH {prefix}revocations ""`; every node
//! subscribed wakes its revocation poll, which reads the entries from the
//! durable store (the message carries nothing: the log is the truth, so a
//! lost message costs at most one poll interval).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::{mpsc, watch};

use super::conn::{CALL_BUDGET, CONNECTION_TIMEOUT, Redis};

/// How often the subscription is checked with a `PING`: a connection that
/// died silently is noticed within this (plus the budget).
const KEEPALIVE: Duration = Duration::from_secs(5);
/// Back-off between reconnection attempts: from the first to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Announces that revocations were recorded, without delaying the caller
/// (a node without Redis still has NOTIFY, and the poll in any case).
pub(crate) fn announce(redis: &Arc<Redis>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let redis = redis.clone();
    runtime.spawn(async move {
        let channel = redis.revocation_channel();
        let _ = redis
            .call("revocation publish", |mut c| async move {
                ::redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg("")
                    .query_async::<i64>(&mut c)
                    .await
            })
            .await;
    });
}

/// Why a subscription ended.
enum End {
    /// The receiver is gone or the store is closing: stop for good.
    Stop,
    /// The connection was lost: reconnect.
    Lost,
}

/// Subscribes to the revocation channel on a connection of its own, and
/// sends on `wake` for each message and after each (re)subscription (to
/// catch what was published while not subscribed). Runs until `wake` is
/// closed or `closing` turns true.
pub(crate) fn spawn_watch(
    redis: Arc<Redis>,
    wake: mpsc::Sender<()>,
    closing: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut backoff = BACKOFF.0;
        loop {
            let stopped = wake.is_closed() || *closing.borrow();
            if stopped {
                return;
            }
            match subscribe(&redis).await {
                Ok(pubsub) => {
                    backoff = BACKOFF.0;
                    tracing::debug!("subscribed to Redis revocation announcements");
                    if matches!(listen(pubsub, &wake, closing.clone()).await, End::Stop) {
                        return;
                    }
                    tracing::warn!("Redis revocation subscription lost; reconnecting");
                }
                Err(e) => tracing::debug!(error = %e, "cannot subscribe to Redis revocations"),
            }
            let mut closing = closing.clone();
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stopping(&mut closing) => return,
            }
            backoff = (backoff * 2).min(BACKOFF.1);
        }
    });
}

async fn subscribe(redis: &Redis) -> Result<::redis::aio::PubSub, String> {
    let connect = async {
        let mut pubsub = redis.client().get_async_pubsub().await?;
        pubsub.subscribe(redis.revocation_channel()).await?;
        Ok::<_, ::redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(CONNECTION_TIMEOUT + CALL_BUDGET, connect).await {
        Ok(Ok(pubsub)) => Ok(pubsub),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

async fn listen(
    pubsub: ::redis::aio::PubSub,
    wake: &mpsc::Sender<()>,
    mut closing: watch::Receiver<bool>,
) -> End {
    let (mut sink, mut messages) = pubsub.split();
    // Whatever was published before we subscribed is read now.
    if notify(wake).is_err() {
        return End::Stop;
    }
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.tick().await;
    loop {
        tokio::select! {
            message = messages.next() => match message {
                Some(_) => {
                    if notify(wake).is_err() {
                        return End::Stop;
                    }
                }
                None => return End::Lost,
            },
            _ = keepalive.tick() => {
                if wake.is_closed() {
                    return End::Stop;
                }
                let ping = tokio::time::timeout(CALL_BUDGET, sink.ping::<::redis::Value>());
                if !matches!(ping.await, Ok(Ok(_))) {
                    return End::Lost;
                }
            }
            () = stopping(&mut closing) => return End::Stop,
        }
    }
}

/// Resolves when the store is closing (or dropped).
async fn stopping(closing: &mut watch::Receiver<bool>) {
    let _ = closing.wait_for(|c| *c).await;
}

/// One wake-up; a full channel already holds one, which is as good.
fn notify(wake: &mpsc::Sender<()>) -> Result<(), ()> {
    match wake.try_send(()) {
        Ok(()) | Err(mpsc::error::TrySendError::Full(())) => Ok(()),
        Err(mpsc::error::TrySendError::Closed(())) => Err(()),
    }
}
