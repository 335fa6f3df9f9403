//! Access tokens on this node: minting, verification with a verified-token
//! cache, and the key set in use.
//!
//! Verification of a token never seen before costs a signature check
//! (~50 µs for EdDSA). A token seen before is found in a bounded cache
//! keyed by SHA-256 of the token, and then still checked against the clock
//! (`exp`), the denylist, and the key-set generation it was verified under:
//! the cache only remembers that the signature and static claims were good,
//! never that the token is still acceptable.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::refresh::{RefreshHash, RefreshKey};
use latchkey_core::revocation::Denylist;
use latchkey_core::{Assurance, Timestamp, UserId};
use latchkey_tokens::{AccessClaims, Expectations, KeySet, TokenError, Verifier};

/// Whom an access token speaks for: the user, the session or family
/// (`sid`), how its holder signed in (`amr`, `auth_time`) and, in tokens
/// for upstreams that ask for them, the user's groups.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub user: UserId,
    pub sid: &'a str,
    pub assurance: &'a Assurance,
    /// Empty: no `groups` claim.
    pub groups: &'a [String],
}

/// A cached upstream token's key: `sid`, audience, `auth_time`, groups.
type SessionTokenKey = (String, String, Timestamp, Vec<String>);

/// How tokens are issued (from configuration).
#[derive(Clone, Debug)]
pub struct TokenSettings {
    pub issuer: String,
    /// The first-party audience: the only one accepted as a credential.
    pub audience: String,
    /// `aud` of the tokens `/v1/verify` hands a reverse proxy's upstream.
    pub forward_auth_audience: String,
    pub access_ttl: Duration,
    /// A refresh family's absolute lifetime.
    pub refresh_ttl: Duration,
    /// A spent refresh token presented again within this window gets the
    /// same new pair.
    pub refresh_grace: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            audience: "latchkey".into(),
            forward_auth_audience: "latchkey-forward-auth".into(),
            access_ttl: Duration::from_secs(5 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_grace: Duration::from_secs(10),
        }
    }
}

struct Active {
    keys: KeySet,
    verifier: Verifier,
    generation: u64,
}

#[derive(Clone)]
struct Cached {
    claims: Arc<AccessClaims>,
    generation: u64,
    ttl: Duration,
}

struct UntilExp;

impl moka::Expiry<[u8; 32], Cached> for UntilExp {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Cached,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Most verified tokens remembered at once.
pub const CACHE_CAPACITY: u64 = 100_000;

pub struct TokenService {
    active: RwLock<Arc<Active>>,
    /// Access tokens issued alongside each recent refresh token, so a
    /// spent refresh token presented again within the grace window gets
    /// the very same token back on this node, whatever the algorithm
    /// (ES256 signatures are randomised) and even across a key rotation.
    recent: moka::sync::Cache<[u8; 32], (String, i64)>,
    /// Tokens minted for cookie sessions, by (sid, audience, auth_time).
    session_tokens: moka::sync::Cache<SessionTokenKey, (String, i64)>,
    cache: moka::sync::Cache<[u8; 32], Cached>,
    /// Every audience this node issues: the first-party one, forward
    /// auth's and the BFF APIs'. What `verify` accepts is narrowed to the
    /// first-party one after the check.
    expect: Expectations,
    settings: TokenSettings,
    refresh_key: RefreshKey,
}

/// Why a bearer token was refused (never shown to clients in detail).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error(transparent)]
    Invalid(#[from] TokenError),
    #[error("token has been revoked")]
    Revoked,
}

impl TokenService {
    pub fn new(keys: KeySet, settings: TokenSettings, refresh_key: RefreshKey) -> Self {
        let verifier = keys.verifier();
        Self {
            active: RwLock::new(Arc::new(Active {
                keys,
                verifier,
                generation: 0,
            })),
            cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(UntilExp)
                .build(),
            recent: moka::sync::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(settings.refresh_grace + Duration::from_secs(5))
                .build(),
            session_tokens: moka::sync::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(settings.access_ttl)
                .build(),
            expect: Expectations::new(settings.issuer.clone(), settings.audience.clone())
                .with_other_audiences([settings.forward_auth_audience.clone()]),
            settings,
            refresh_key,
        }
    }

    /// Also recognises tokens minted for these upstream audiences (the
    /// BFF's APIs) in [`verify_issued`](Self::verify_issued).
    #[must_use]
    pub fn with_upstream_audiences(mut self, audiences: impl IntoIterator<Item = String>) -> Self {
        self.expect = self.expect.with_other_audiences(audiences);
        self
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub fn refresh_key(&self) -> &RefreshKey {
        &self.refresh_key
    }

    fn active(&self) -> Arc<Active> {
        self.active
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Installs a freshly loaded key set. Cached verifications made under
    /// the old set stop counting (a key may have left it).
    pub fn replace_keys(&self, keys: KeySet) {
        let mut guard = self
            .active
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let kids = |k: &KeySet| -> Vec<String> {
            std::iter::once(k.current().kid().as_str().to_owned())
                .chain(k.previous().map(|(m, _)| m.kid().as_str().to_owned()))
                .collect()
        };
        let same = kids(&guard.keys) == kids(&keys);
        if same {
            return;
        }
        let verifier = keys.verifier();
        *guard = Arc::new(Active {
            keys,
            verifier,
            generation: guard.generation + 1,
        });
        drop(guard);
        self.cache.invalidate_all();
    }

    /// The current signing key's id.
    pub fn current_kid(&self) -> String {
        self.active().keys.current().kid().as_str().to_owned()
    }

    pub fn jwks(&self) -> serde_json::Value {
        self.active().keys.jwks()
    }

    /// Signs an access token for `user` in session/family `sid`, issued at
    /// `issued_at`, with id `jti`, carrying the sign-in's `amr` and
    /// `auth_time`. Returns the token and its `exp`.
    pub fn mint(
        &self,
        subject: Subject<'_>,
        issued_at: Timestamp,
        jti: String,
    ) -> Result<(String, i64), latchkey_tokens::SignError> {
        self.mint_for(subject, issued_at, jti, &self.settings.audience)
    }

    /// A token for a cookie session to hand to an upstream (forward auth,
    /// the BFF): reused from the cache while it has more than a fifth of
    /// its lifetime left, so a busy session costs no signature per request.
    /// A step-up (a new `auth_time`) makes a new token.
    pub fn session_token(
        &self,
        subject: Subject<'_>,
        audience: &str,
        now: Timestamp,
    ) -> Result<(String, i64), latchkey_tokens::SignError> {
        let key = (
            subject.sid.to_owned(),
            audience.to_owned(),
            subject.assurance.auth_time,
            subject.groups.to_vec(),
        );
        let margin = i64::try_from(self.settings.access_ttl.as_secs() / 5).unwrap_or(0);
        if let Some((token, exp)) = self.session_tokens.get(&key)
            && exp - now.unix_seconds() > margin
        {
            return Ok((token, exp));
        }
        let mut jti = [0u8; JTI_BYTES];
        getrandom::fill(&mut jti).map_err(|_| latchkey_tokens::SignError::Crypto)?;
        let minted = self.mint_for(subject, now, URL_SAFE_NO_PAD.encode(jti), audience)?;
        self.session_tokens.insert(key, minted.clone());
        Ok(minted)
    }

    /// As [`mint`](Self::mint), for another audience.
    pub fn mint_for(
        &self,
        subject: Subject<'_>,
        issued_at: Timestamp,
        jti: String,
        audience: &str,
    ) -> Result<(String, i64), latchkey_tokens::SignError> {
        let iat = issued_at.unix_seconds();
        let ttl = i64::try_from(self.settings.access_ttl.as_secs()).unwrap_or(i64::MAX);
        let exp = iat.saturating_add(ttl);
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: subject.user.to_string(),
            aud: audience.to_owned(),
            exp,
            iat,
            nbf: None,
            jti,
            sid: subject.sid.to_owned(),
            amr: subject.assurance.amr.clone(),
            auth_time: Some(subject.assurance.auth_time.unix_seconds()),
            groups: subject.groups.to_vec(),
        };
        Ok((self.active().keys.sign(&claims)?, exp))
    }

    /// The access token that goes with refresh token `refresh`: the one
    /// already issued with it if this node has it, else a new one whose
    /// claims (and `jti`) are derived from `refresh`, so that any node
    /// issues the same claims for the same refresh step.
    pub fn mint_once(
        &self,
        subject: Subject<'_>,
        issued_at: Timestamp,
        refresh: &RefreshHash,
    ) -> Result<(String, i64), latchkey_tokens::SignError> {
        // One signature per refresh step even when concurrent requests
        // race here (the cache runs one initialiser per key).
        self.recent
            .try_get_with(*refresh.as_bytes(), || {
                self.mint(subject, issued_at, jti_for(refresh))
            })
            .map_err(|e| *e)
    }

    /// Verifies `token` at `now` against the keys and `denylist` as a
    /// first-party credential: `aud` must be `tokens.audience`. A token
    /// minted for an upstream is refused.
    pub fn verify(
        &self,
        token: &str,
        now: Timestamp,
        denylist: &Denylist,
    ) -> Result<Arc<AccessClaims>, BearerError> {
        let claims = self.verify_issued(token, now, denylist)?;
        if claims.aud != self.settings.audience {
            return Err(TokenError::WrongAudience.into());
        }
        Ok(claims)
    }

    /// As [`verify`](Self::verify), for a token of any audience this node
    /// issues (for introspection: never a credential).
    pub fn verify_issued(
        &self,
        token: &str,
        now: Timestamp,
        denylist: &Denylist,
    ) -> Result<Arc<AccessClaims>, BearerError> {
        if token.len() > latchkey_tokens::MAX_TOKEN_LEN {
            return Err(TokenError::TooLong.into());
        }
        let now_s = now.unix_seconds();
        let key = latchkey_core::sha256(token.as_bytes());
        let active = self.active();
        let claims = match self.cache.get(&key) {
            Some(hit) if hit.generation == active.generation => {
                if now_s >= hit.claims.exp {
                    return Err(TokenError::Expired.into());
                }
                hit.claims
            }
            _ => {
                let claims = Arc::new(active.verifier.verify(token, &self.expect, now_s)?);
                let left = u64::try_from(claims.exp.saturating_sub(now_s)).unwrap_or(0);
                self.cache.insert(
                    key,
                    Cached {
                        claims: claims.clone(),
                        generation: active.generation,
                        ttl: Duration::from_secs(left),
                    },
                );
                claims
            }
        };
        if denylist.is_revoked(&claims.jti, &claims.sid, &claims.sub, claims.iat) {
            return Err(BearerError::Revoked);
        }
        Ok(claims)
    }

    /// Verifies signature and claims at `now` without the denylist (to
    /// revoke a token: one that no longer verifies needs no revoking).
    pub fn verify_for_revocation(&self, token: &str, now: Timestamp) -> Option<AccessClaims> {
        self.active()
            .verifier
            .verify(token, &self.expect, now.unix_seconds())
            .ok()
    }
}

impl TokenService {
    /// The `sid` of an access token this server signed, expired or not (to
    /// tie the hybrid's access cookie to its refresh cookie). `None` when
    /// it does not verify otherwise: a bad signature, an unknown or removed
    /// key, another issuer or audience.
    pub fn sid_ignoring_expiry(&self, token: &str, now: Timestamp) -> Option<String> {
        if token.len() > latchkey_tokens::MAX_TOKEN_LEN {
            return None;
        }
        // Every token of a live family expires within `refresh_ttl`.
        let leeway = u32::try_from(self.settings.refresh_ttl.as_secs()).unwrap_or(u32::MAX);
        let expect = self.expect.clone().with_leeway(leeway);
        self.active()
            .verifier
            .verify(token, &expect, now.unix_seconds())
            .ok()
            .map(|c| c.sid)
    }
}

/// Bytes in an access token's `jti` (16 base64url characters): 96 bits
/// keep ids unique among the tokens of a revocation window by a wide
/// margin, and every token carries it.
pub const JTI_BYTES: usize = 12;

/// The `jti` of the access token issued alongside refresh token `hash`:
/// derived, so the same refresh step always yields the same access token.
pub fn jti_for(hash: &RefreshHash) -> String {
    let d = latchkey_core::sha256(&[b"latchkey-jti-v1\0".as_slice(), hash.as_bytes()].concat());
    URL_SAFE_NO_PAD.encode(&d[..JTI_BYTES])
}
