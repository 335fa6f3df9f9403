//! What a resource server tells the verifier: whose tokens, for which
//! audience, where the keys are, and whether to ask about revocation.

use std::fmt;
use std::time::Duration;

/// How to verify latchkey access tokens. Build it with
/// [`VerifierConfig::for_latchkey`] (everything derived from latchkey's base
/// URL) or [`VerifierConfig::new`], then adjust the public fields.
///
/// Every default below is the safe one; none of them turns a check off.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierConfig {
    /// Required `iss`, compared exactly: latchkey's configured `issuer`.
    pub issuer: String,
    /// Required audience (`aud` equals it or contains it): latchkey's
    /// `tokens.audience`, default `"latchkey"`.
    pub audience: String,
    /// Where latchkey publishes its public keys
    /// (`{issuer}/.well-known/jwks.json`).
    pub jwks_url: String,
    /// A token naming an unknown `kid` makes the verifier fetch the JWKS
    /// again, at most once per this interval (default 30 s), so a flood of
    /// made-up `kid`s costs latchkey one request per interval. Measured with
    /// the verifier's clock, in whole seconds, rounded up. Until a JWKS has
    /// been loaded once, the interval is at most one second, so a resource
    /// server started before latchkey accepts tokens soon after latchkey is
    /// up.
    pub refetch_min_interval: Duration,
    /// Keys older than this are fetched again before the next verification
    /// (default 300 s, latchkey's `Cache-Control: max-age`), so a key
    /// removed from latchkey's JWKS stops being accepted within about this
    /// long. If the fetch fails the cached keys stay in use.
    pub jwks_max_age: Duration,
    /// Allowed clock difference with latchkey for `exp`, `nbf` and `iat`
    /// (default 0; whole seconds). A few seconds suits resource servers on
    /// other machines.
    pub leeway: Duration,
    /// Timeout of one JWKS fetch, connection included (default 5 s).
    pub jwks_timeout: Duration,
    /// Ask latchkey's introspection endpoint about every token, so revoked
    /// tokens are refused before they expire. Off by default: a token is
    /// then trusted until its `exp` (latchkey's default lifetime is 5
    /// minutes).
    pub introspection: Option<Introspection>,
    /// Follow latchkey's revocation feed into a local denylist (see
    /// [`crate::RevocationFeed`]); start it with
    /// [`crate::LatchkeyVerifier::spawn_revocation_feed`]. Off by default.
    pub revocation_feed: Option<crate::RevocationFeed>,
}

impl VerifierConfig {
    /// Expect tokens from `issuer` for `audience`, with keys from
    /// `jwks_url`, and the defaults documented on each field.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        jwks_url: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: jwks_url.into(),
            refetch_min_interval: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(300),
            leeway: Duration::ZERO,
            jwks_timeout: Duration::from_secs(5),
            introspection: None,
            revocation_feed: None,
        }
    }

    /// Tokens from the latchkey at `base_url` (e.g. `http://127.0.0.1:8080`,
    /// which must equal its configured `issuer`) for `audience`: the JWKS is
    /// `{base_url}/.well-known/jwks.json`.
    pub fn for_latchkey(base_url: &str, audience: impl Into<String>) -> Self {
        let base = base_url.trim_end_matches('/');
        Self::new(base, audience, format!("{base}/.well-known/jwks.json"))
    }

    /// The same configuration, also asking latchkey's introspection.
    #[must_use]
    pub fn with_introspection(mut self, introspection: Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }
}

impl VerifierConfig {
    /// The same configuration, also following latchkey's revocation feed.
    #[must_use]
    pub fn with_revocation_feed(mut self, feed: crate::RevocationFeed) -> Self {
        self.revocation_feed = Some(feed);
        self
    }
}

/// Credentials for latchkey's `POST /v1/token/introspect` (RFC 7662), one of
/// latchkey's `[[introspection.clients]]`.
///
/// After a token has passed every local check, the verifier posts it there
/// and accepts it only on `200 {"active":true}` (with the same `jti`, if the
/// answer names one). Anything else — `active:false`, another status, a
/// timeout, latchkey down — refuses the token: the verifier fails closed.
/// Answers are not cached: every verification costs one call, which is
/// the price of seeing a revocation at once.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Introspection {
    /// `{issuer}/v1/token/introspect`.
    pub url: String,
    /// The client id, sent with HTTP Basic.
    pub client_id: String,
    /// The client secret, sent with HTTP Basic. Never printed by `Debug`.
    pub client_secret: String,
    /// Timeout of one introspection call (default 2 s).
    pub timeout: Duration,
}

impl Introspection {
    /// Credentials for the introspection endpoint at `url`.
    pub fn new(
        url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            timeout: Duration::from_secs(2),
        }
    }

    /// The introspection endpoint of the latchkey at `base_url`.
    pub fn for_latchkey(
        base_url: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let base = base_url.trim_end_matches('/');
        Self::new(
            format!("{base}/v1/token/introspect"),
            client_id,
            client_secret,
        )
    }
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `duration` in whole seconds, rounded up, as the clock's unit.
pub(crate) fn ceil_secs(duration: Duration) -> i64 {
    let secs = duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0));
    i64::try_from(secs).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latchkey_urls_are_derived_from_the_base() {
        let config = VerifierConfig::for_latchkey("http://127.0.0.1:8080/", "api");
        assert_eq!(config.issuer, "http://127.0.0.1:8080");
        assert_eq!(
            config.jwks_url,
            "http://127.0.0.1:8080/.well-known/jwks.json"
        );
        let intro = Introspection::for_latchkey("http://lk", "id", "s3cret");
        assert_eq!(intro.url, "http://lk/v1/token/introspect");
    }

    #[test]
    fn the_client_secret_never_prints() {
        let intro = Introspection::new("http://lk", "id", "s3cret");
        assert!(!format!("{intro:?}").contains("s3cret"));
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(30)), 30);
        assert_eq!(ceil_secs(Duration::MAX), i64::MAX);
    }
}
