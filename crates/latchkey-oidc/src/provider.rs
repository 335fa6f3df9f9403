//! One configured provider: its discovery document and keys (fetched at
//! start, retried in the background while it cannot be reached, refetched
//! on an unknown `kid`), the authorization request and the code exchange.
//!
//! The keys follow latchkey-verify's JWKS rules: readers take the current
//! metadata (an `Arc`); fetches are serialised by one async mutex that
//! records the last attempt, so a burst of tokens with an unknown `kid`
//! makes one request (single flight) and made-up `kid`s cost at most one
//! request per [`REFETCH_MIN_INTERVAL`].

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse as _,
};
use secrecy::{ExposeSecret as _, SecretString};

use crate::check::{self, Expected, IdentityClaims, LogoutClaims, Refusal};
use crate::http::Http;

/// Seconds between two JWKS fetches caused by unknown `kid`s.
pub const REFETCH_MIN_INTERVAL: i64 = 10;
/// Clock skew tolerated on `exp`/`iat`, in seconds.
pub const SKEW: i64 = 60;
/// The oldest `iat` accepted, in seconds.
pub const MAX_TOKEN_AGE: i64 = 600;
/// The background retry of an unreachable provider: first and longest wait.
pub const RETRY_FIRST: Duration = Duration::from_secs(1);
pub const RETRY_MAX: Duration = Duration::from_secs(300);

/// `[oidc.providers.NAME]`.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// In URLs: `/v1/oidc/{name}/…`.
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub display_name: String,
    pub scopes: Vec<String>,
    /// The claim a new user's name comes from (`preferred_username`).
    pub username_claim: String,
    /// The claim holding the e-mail address (`email`); shown only, never
    /// used to link.
    pub email_claim: String,
}

/// Why a provider call failed. No variant quotes a token or a secret.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("provider unavailable")]
    Unavailable,
    #[error("provider refused the code")]
    Exchange,
    #[error(transparent)]
    Token(#[from] Refusal),
    #[error("configuration: {0}")]
    Config(String),
}

/// Where to send the browser, and what to keep until it comes back.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

struct Loaded {
    metadata: CoreProviderMetadata,
    generation: u64,
}

pub struct Provider {
    pub config: ProviderConfig,
    redirect: RedirectUrl,
    http: Http,
    loaded: RwLock<Option<Arc<Loaded>>>,
    /// The time (Unix seconds) of the last key fetch attempt.
    last_fetch: tokio::sync::Mutex<Option<i64>>,
}

impl Provider {
    /// A provider whose callback is `redirect_uri`; nothing fetched yet.
    pub fn new(config: ProviderConfig, redirect_uri: &str, http: Http) -> Result<Self, OidcError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| OidcError::Config(e.to_string()))?;
        IssuerUrl::new(config.issuer.clone()).map_err(|e| OidcError::Config(e.to_string()))?;
        Ok(Self {
            config,
            redirect,
            http,
            loaded: RwLock::new(None),
            last_fetch: tokio::sync::Mutex::new(None),
        })
    }

    /// Whether discovery has succeeded (the login button works).
    pub fn is_available(&self) -> bool {
        self.current().is_some()
    }

    fn current(&self) -> Option<Arc<Loaded>> {
        self.loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn install(&self, metadata: CoreProviderMetadata) {
        let mut slot = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
        let generation = slot.as_ref().map_or(0, |l| l.generation + 1);
        *slot = Some(Arc::new(Loaded {
            metadata,
            generation,
        }));
    }

    /// Fetches the discovery document and the JWKS (the issuer it names
    /// must be the configured one).
    pub async fn discover(&self) -> Result<(), OidcError> {
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Config(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|error| {
                tracing::warn!(provider = %self.config.name, %error, "OIDC discovery failed");
                OidcError::Unavailable
            })?;
        self.install(metadata);
        tracing::info!(provider = %self.config.name, "OIDC provider discovered");
        Ok(())
    }

    /// Retries discovery until it succeeds, waiting twice as long after
    /// each failure (from [`RETRY_FIRST`] up to [`RETRY_MAX`]).
    pub async fn discover_until_available(self: Arc<Self>) {
        let mut wait = RETRY_FIRST;
        while self.discover().await.is_err() {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY_MAX);
        }
    }

    /// The authorization request: code flow, PKCE S256, `state`, `nonce`.
    pub fn authorize(&self) -> Result<Authorization, OidcError> {
        let loaded = self.current().ok_or(OidcError::Unavailable)?;
        let client = self.client(&loaded);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    fn client(
        &self,
        loaded: &Loaded,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        let secret = self
            .config
            .client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose_secret().to_owned()));
        CoreClient::from_provider_metadata(
            loaded.metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            secret,
        )
        .set_redirect_uri(self.redirect.clone())
    }

    fn expected(&self) -> Expected<'_> {
        Expected {
            issuer: &self.config.issuer,
            client_id: &self.config.client_id,
            skew: SKEW,
            max_age: MAX_TOKEN_AGE,
        }
    }

    /// Exchanges `code` (with the PKCE verifier) and checks the ID token
    /// it brings against `nonce` at `now` (Unix seconds).
    pub async fn exchange(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: i64,
    ) -> Result<IdentityClaims, OidcError> {
        let loaded = self.current().ok_or(OidcError::Unavailable)?;
        let client = self.client(&loaded);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| OidcError::Unavailable)?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|error| {
                tracing::warn!(provider = %self.config.name, %error, "code exchange failed");
                OidcError::Exchange
            })?;
        let _ = response.access_token();
        let token = response.id_token().ok_or(OidcError::Exchange)?.to_string();
        self.with_keys(loaded, now, |keys| {
            check::id_token(keys, &self.expected(), &token, nonce, now)
        })
        .await
    }

    /// Checks a back-channel `logout_token` at `now`.
    pub async fn logout_token(&self, token: &str, now: i64) -> Result<LogoutClaims, OidcError> {
        let loaded = self.current().ok_or(OidcError::Unavailable)?;
        self.with_keys(loaded, now, |keys| {
            check::logout_token(keys, &self.expected(), token, now)
        })
        .await
    }

    /// Runs `check` with the keys; on an unknown `kid`, once more with
    /// keys fetched again if the rules allow.
    async fn with_keys<T>(
        &self,
        loaded: Arc<Loaded>,
        now: i64,
        check: impl Fn(&CoreJsonWebKeySet) -> Result<T, Refusal>,
    ) -> Result<T, OidcError> {
        match check(loaded.metadata.jwks()) {
            Err(Refusal::NoMatchingKey) => {
                let fresh = self.refetch_keys(&loaded, now).await;
                Ok(check(fresh.metadata.jwks())?)
            }
            other => Ok(other?),
        }
    }

    async fn refetch_keys(&self, seen: &Loaded, now: i64) -> Arc<Loaded> {
        let mut last = self.last_fetch.lock().await;
        let current = self.current();
        let Some(current) = current else {
            return Arc::new(Loaded {
                metadata: seen.metadata.clone(),
                generation: seen.generation,
            });
        };
        if current.generation != seen.generation
            || last.is_some_and(|at| now.abs_diff(at) < REFETCH_MIN_INTERVAL.unsigned_abs())
        {
            return current;
        }
        *last = Some(now);
        let url = current.metadata.jwks_uri().clone();
        match CoreJsonWebKeySet::fetch_async(&url, &self.http).await {
            Ok(keys) => {
                self.install(current.metadata.clone().set_jwks(keys));
                self.current().unwrap_or(current)
            }
            Err(error) => {
                tracing::warn!(provider = %self.config.name, %error, "JWKS refetch failed; keeping cached keys");
                current
            }
        }
    }
}
