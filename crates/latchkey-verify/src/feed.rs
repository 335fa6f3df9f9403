//! The revocation feed: latchkey's `GET /v1/revocations` (long poll),
//! followed by a background task ([`crate::LatchkeyVerifier::spawn_revocation_feed`])
//! into an in-memory denylist, so a revoked token is refused within
//! milliseconds while verification stays local.
//!
//! **Invariant:** the verifier fails closed. Until the feed has answered
//! once, and whenever it has been silent longer than
//! [`RevocationFeed::max_silence`], every token is refused
//! ([`crate::VerifyError::RevocationStateUnknown`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use latchkey_tokens::AccessClaims;
use reqwest::Client;
use serde_json::Value;

use crate::clock::{Clock, Monotonic};
use crate::error::FetchError;
use crate::fetch::json_object;

/// Where and how to follow the feed.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationFeed {
    /// `{issuer}/v1/revocations`.
    pub url: String,
    /// An `[[introspection.clients]]` credential, sent with HTTP Basic.
    pub client_id: String,
    /// Never printed by `Debug`.
    pub client_secret: String,
    /// How long one long poll is held by latchkey (default 10 s, at most 25).
    pub wait: Duration,
    /// Tokens are refused once the feed has been silent this long
    /// (default 20 s; must exceed `wait`).
    pub max_silence: Duration,
}

impl RevocationFeed {
    /// The feed of the latchkey at `base_url`.
    pub fn for_latchkey(
        base_url: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            url: format!("{}/v1/revocations", base_url.trim_end_matches('/')),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            wait: Duration::from_secs(10),
            max_silence: Duration::from_secs(20),
        }
    }

    /// With another long-poll hold and silence bound.
    #[must_use]
    pub fn with_timing(mut self, wait: Duration, max_silence: Duration) -> Self {
        self.wait = wait;
        self.max_silence = max_silence;
        self
    }
}

impl fmt::Debug for RevocationFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationFeed")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("wait", &self.wait)
            .field("max_silence", &self.max_silence)
            .finish()
    }
}

/// The denylist the feed fills, and when the feed last answered.
#[derive(Default)]
pub(crate) struct FeedState {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// `(kind, value)` → (not-before for `user`, expiry), Unix seconds.
    denied: HashMap<(String, String), (i64, i64)>,
    /// Monotonic time of the last answer.
    last_answer: Option<Duration>,
}

impl FeedState {
    /// `None` when the token may pass, or why not: `Err(())` when the
    /// feed is silent (state unknown), `Ok(true)` when revoked.
    pub(crate) fn check(
        &self,
        claims: &AccessClaims,
        now_mono: Duration,
        max_silence: Duration,
    ) -> Result<bool, ()> {
        let e = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match e.last_answer {
            Some(at) if now_mono.saturating_sub(at) <= max_silence => {}
            _ => return Err(()),
        }
        let hit = |kind: &str, value: &str| e.denied.get(&(kind.to_owned(), value.to_owned()));
        Ok(hit("jti", &claims.jti).is_some()
            || hit("sid", &claims.sid).is_some()
            || hit("user", &claims.sub).is_some_and(|(nbf, _)| claims.iat < *nbf))
    }

    fn apply(&self, entries: &[Value], now: i64, now_mono: Duration) {
        let mut e = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for entry in entries {
            let (Some(kind), Some(value), Some(at), Some(exp)) = (
                entry["kind"].as_str(),
                entry["value"].as_str(),
                entry["at"].as_i64(),
                entry["expires_at"].as_i64(),
            ) else {
                continue;
            };
            let slot = e
                .denied
                .entry((kind.to_owned(), value.to_owned()))
                .or_insert((at, exp));
            *slot = (slot.0.max(at), slot.1.max(exp));
        }
        e.denied.retain(|_, (_, exp)| *exp > now);
        e.last_answer = Some(now_mono);
    }
}

/// Follows the feed for as long as the task lives.
pub(crate) async fn follow(
    client: Client,
    feed: RevocationFeed,
    state: std::sync::Arc<FeedState>,
    clock: Clock,
    monotonic: Monotonic,
) {
    let mut after = 0_i64;
    // The first poll (and the first after a failure) answers at once, so
    // the verifier knows the current state before waiting for news.
    let mut wait = Duration::ZERO;
    loop {
        match poll(&client, &feed, after, wait).await {
            Ok((entries, next)) => {
                state.apply(&entries, clock(), monotonic());
                after = next;
                wait = feed.wait;
            }
            Err(error) => {
                wait = Duration::ZERO;
                tracing::warn!(%error, "revocation feed failed; retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

async fn poll(
    client: &Client,
    feed: &RevocationFeed,
    after: i64,
    wait: Duration,
) -> Result<(Vec<Value>, i64), FetchError> {
    let wait = wait.as_secs().min(25);
    let response = client
        .get(format!("{}?after={after}&wait={wait}", feed.url))
        .basic_auth(&feed.client_id, Some(&feed.client_secret))
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(Duration::from_secs(wait + 5))
        .send()
        .await?;
    let mut answer = json_object(response).await?;
    let next = answer["next"].as_i64().ok_or(FetchError::NotJson)?;
    let entries = match answer["entries"].take() {
        Value::Array(entries) => entries,
        _ => return Err(FetchError::NotJson),
    };
    Ok((entries, next))
}
