//! [`LatchkeyVerifier`]: local verification against the cached JWKS, then
//! (optionally) introspection.

use std::fmt;
use std::sync::Arc;

use latchkey_tokens::{AccessClaims, Expectations, TokenError};
use reqwest::Client;

use crate::assurance::AuthRequirement;
use crate::clock::{Clock, Monotonic, system_clock, system_monotonic};
use crate::config::{Introspection, VerifierConfig, ceil_secs};
use crate::error::{BuildError, JwksError, VerifyError};
use crate::feed::{FeedState, RevocationFeed};
use crate::fetch;
use crate::keys::{KeyCache, Wait};
use crate::rejection::AuthRejection;

/// Verifies latchkey access tokens. Cheap to clone (an `Arc` inside):
/// build one at start-up and share it between the layer, the extractor and
/// anything else.
///
/// Keys are fetched lazily by the first verification; call
/// [`refresh`](Self::refresh) at start-up to fail fast or warm the cache.
#[derive(Clone)]
pub struct LatchkeyVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    expectations: Expectations,
    keys: KeyCache,
    introspection: Option<Introspection>,
    feed: Option<(RevocationFeed, Arc<FeedState>)>,
    client: Client,
    clock: Clock,
    monotonic: Monotonic,
}

impl LatchkeyVerifier {
    /// A verifier reading the system clock.
    pub fn new(config: VerifierConfig) -> Result<Self, BuildError> {
        Self::with_clock(config, system_clock())
    }

    /// A verifier whose "now" (seconds since the Unix epoch) comes from
    /// `clock`: token times and the refetch rate limit both use it.
    pub fn with_clock(config: VerifierConfig, clock: Clock) -> Result<Self, BuildError> {
        check_url(&config.jwks_url, "jwks_url")?;
        if let Some(introspection) = &config.introspection {
            check_url(&introspection.url, "introspection.url")?;
        }
        if let Some(feed) = &config.revocation_feed {
            check_url(&feed.url, "revocation_feed.url")?;
        }
        let leeway = u32::try_from(config.leeway.as_secs()).unwrap_or(u32::MAX);
        let keys = KeyCache::new(
            config.jwks_url,
            config.jwks_timeout,
            ceil_secs(config.refetch_min_interval),
            ceil_secs(config.jwks_max_age),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                expectations: Expectations::new(config.issuer, config.audience).with_leeway(leeway),
                keys,
                introspection: config.introspection,
                feed: config
                    .revocation_feed
                    .map(|f| (f, Arc::new(FeedState::default()))),
                client: fetch::client()?,
                clock,
                monotonic: system_monotonic(),
            }),
        })
    }

    /// Whether `claims` (verified by this verifier) meet `requirement` now,
    /// by this verifier's clock; the refusal answers RFC 9470's
    /// `insufficient_user_authentication`.
    pub fn require(
        &self,
        claims: &AccessClaims,
        requirement: &AuthRequirement,
    ) -> Result<(), AuthRejection> {
        requirement.check(claims, (self.inner.clock)())
    }

    /// Accepts `token` (the text after `Bearer `) or says why not.
    ///
    /// Every rule of [`latchkey_tokens::Verifier::verify`] applies: the
    /// algorithm comes from the key found by `kid`, `typ` must be `at+jwt`,
    /// `iss`, `aud` and `exp` are required and checked. A `kid` missing from
    /// the cached keys triggers one JWKS refetch (rate-limited, shared with
    /// concurrent callers) and one retry. With introspection configured, a
    /// token that passed locally must also be reported active.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let claims = self.verify_locally(token).await?;
        if let Some((feed, state)) = &self.inner.feed {
            let now = (self.inner.monotonic)();
            match state.check(&claims, now, feed.max_silence) {
                Err(()) => return Err(VerifyError::RevocationStateUnknown),
                Ok(true) => return Err(VerifyError::Revoked),
                Ok(false) => {}
            }
        }
        if let Some(introspection) = &self.inner.introspection {
            let active = fetch::introspect(&self.inner.client, introspection, token, &claims)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "introspection failed; refusing the token");
                    VerifyError::IntrospectionFailed(error)
                })?;
            if !active {
                return Err(VerifyError::Inactive);
            }
        }
        Ok(claims)
    }

    async fn verify_locally(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let inner = &*self.inner;
        let mut keys = inner.keys.current();
        if inner.keys.is_stale(&keys, (inner.clock)()) {
            keys = inner
                .keys
                .refetch(&inner.client, &inner.clock, &keys, Wait::No)
                .await;
        }
        let now = (inner.clock)();
        match keys.verifier.verify(token, &inner.expectations, now) {
            Err(TokenError::UnknownKid) => {
                let newer = inner
                    .keys
                    .refetch(&inner.client, &inner.clock, &keys, Wait::Yes)
                    .await;
                if newer.generation == keys.generation {
                    return Err(TokenError::UnknownKid);
                }
                let now = (inner.clock)();
                newer.verifier.verify(token, &inner.expectations, now)
            }
            other => other,
        }
    }

    /// Starts following the revocation feed (when configured) on the
    /// current Tokio runtime; the task runs until aborted. Until the feed
    /// first answers, every token is refused.
    pub fn spawn_revocation_feed(&self) -> Option<tokio::task::JoinHandle<()>> {
        let (feed, state) = self.inner.feed.clone()?;
        let inner = &*self.inner;
        Some(tokio::spawn(crate::feed::follow(
            inner.client.clone(),
            feed,
            state,
            inner.clock.clone(),
            inner.monotonic.clone(),
        )))
    }

    /// Fetches the JWKS now, ignoring the refetch rate limit (the attempt
    /// still counts towards it). Useful at start-up to check the
    /// configuration; verification does not need it.
    pub async fn refresh(&self) -> Result<(), JwksError> {
        let inner = &*self.inner;
        inner.keys.refresh(&inner.client, &inner.clock).await
    }

    /// Now, by this verifier's clock.
    pub fn now(&self) -> i64 {
        (self.inner.clock)()
    }
}

impl fmt::Debug for LatchkeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatchkeyVerifier")
            .field("expectations", &self.inner.expectations)
            .field("introspection", &self.inner.introspection)
            .finish_non_exhaustive()
    }
}

fn check_url(url: &str, name: &'static str) -> Result<(), BuildError> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        _ => Err(BuildError::InvalidUrl(name)),
    }
}
