//! LISTEN for committed revocations, reconnecting with back-off.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;

use super::REVOCATION_CHANNEL;

/// Sends on `wake` after (re)connecting and at every notification, until
/// `wake`'s receiver is gone.
pub(super) fn spawn(pool: PgPool, wake: mpsc::Sender<()>) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if listener.listen(REVOCATION_CHANNEL).await.is_ok() {
                        backoff = Duration::from_millis(100);
                        // Anything committed while we were not listening
                        // is read by the wake-up that follows (re)connecting.
                        if wake.send(()).await.is_err() {
                            return;
                        }
                        while listener.recv().await.is_ok() {
                            if wake.send(()).await.is_err() {
                                return;
                            }
                        }
                    }
                    tracing::warn!("revocation channel lost; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "cannot listen for revocations"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
}
