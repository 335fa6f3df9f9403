//! Shared state handed to every handler.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use latchkey_core::csrf::CsrfKey;
use latchkey_core::revocation::{Denylist, Revocation};
use latchkey_core::{Clock, Session, UserId, Username};
use latchkey_store::{Ended, RevokeAt, Store};

use crate::metrics::Metrics;
use latchkey_auth::{AuthPolicy, AuthService, PasswordService, TokenService};

pub use crate::settings::{BffApi, IntrospectionClient, MetricsToken, SameSite, Settings};

/// Cheap to clone; everything lives behind one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub csrf: CsrfKey,
    pub passwords: PasswordService,
    /// The use cases (logging in, issuing credentials).
    pub auth: AuthService,
    pub metrics: Metrics,
    pub tokens: Arc<TokenService>,
    /// The BFF's pooled upstream client.
    pub proxy: crate::bff::Proxy,
    /// The OpenID Connect providers to sign in with.
    pub oidc: crate::oidc::Providers,
    /// Recently read sessions by secret hash, and their handles, so a busy
    /// session costs no store read per request. Entries live 10 s at most
    /// and leave at once when the session's `sid` revocation reaches this
    /// node (from this node or, via the revocation log, any other).
    session_cache: moka::sync::Cache<[u8; 32], (Session, Username)>,
    session_handles: moka::sync::Cache<String, [u8; 32]>,
    /// User id → username, so that a bearer request needs no store read.
    /// Usernames never change, so entries are only evicted for space.
    usernames: moka::sync::Cache<UserId, Username>,
    /// Revoked access tokens, consulted on every bearer request.
    pub denylist: RwLock<Denylist>,
    /// Woken whenever revocations reach this node's denylist (the
    /// revocation feed's long polls wait on it).
    pub revocations_changed: tokio::sync::Notify,
    /// Until when the denylist counts as up to date (`Clock::monotonic`):
    /// the revocation poll pushes it forward each time it reaches the store.
    denylist_fresh_until: std::sync::Mutex<Duration>,
}

/// How long a session read from the store may be served from memory.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(10);

/// How long the denylist is trusted after the last successful read of the
/// revocation log; past it, bearer tokens are refused (fail closed).
pub const DENYLIST_TRUST: Duration = Duration::from_secs(5);

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
        csrf: CsrfKey,
        passwords: PasswordService,
        tokens: TokenService,
    ) -> Self {
        let tokens =
            tokens.with_upstream_audiences(settings.bff_apis.iter().map(|a| a.audience.clone()));
        let tokens = Arc::new(tokens);
        let auth = AuthService {
            store: store.clone(),
            clock: clock.clone(),
            passwords: passwords.clone(),
            tokens: tokens.clone(),
            csrf: csrf.clone(),
            policy: AuthPolicy {
                login_limits: settings.login_limits,
                sessions: settings.sessions,
                revocation_ttl: settings.revocation_ttl(),
                recent_auth: AuthPolicy::RECENT_AUTH,
            },
            sealing: settings.sealing.clone(),
            webauthn: settings
                .passkeys
                .relying_party(&settings.tokens.issuer)
                .ok(),
            email: settings.email.clone(),
            webhooks: settings.webhooks.clone(),
        };
        let fresh_until = clock.monotonic() + DENYLIST_TRUST;
        let oidc = crate::oidc::Providers::new(&settings.oidc_providers, &settings.tokens.issuer);
        Self(Arc::new(Inner {
            store,
            clock,
            settings,
            csrf,
            passwords,
            auth,
            tokens,
            proxy: crate::bff::Proxy::default(),
            oidc,
            usernames: moka::sync::Cache::new(100_000),
            session_cache: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SESSION_CACHE_TTL)
                .build(),
            session_handles: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SESSION_CACHE_TTL)
                .build(),
            metrics: Metrics::new(),
            denylist: RwLock::new(Denylist::default()),
            revocations_changed: tokio::sync::Notify::new(),
            denylist_fresh_until: std::sync::Mutex::new(fresh_until),
        }))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    /// The username of `id` (memory first, then the store).
    pub async fn username(
        &self,
        id: UserId,
    ) -> Result<Option<Username>, latchkey_store::StoreError> {
        if let Some(name) = self.0.usernames.get(&id) {
            return Ok(Some(name));
        }
        let user = self.0.store.user_by_id(id).await?;
        Ok(user.map(|u| {
            self.0.usernames.insert(id, u.username.clone());
            u.username
        }))
    }

    /// Revocations recorded now live this long.
    pub fn revoke_at(&self) -> RevokeAt<'static> {
        RevokeAt::new(self.0.clock.now(), self.0.settings.revocation_ttl())
    }

    /// Applies revocations (already written to the store) to this node's
    /// in-memory denylist.
    pub fn deny(&self, entries: &[Revocation]) {
        if entries.is_empty() {
            return;
        }
        let mut d = self
            .0
            .denylist
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for r in entries {
            d.insert(r);
            if let latchkey_core::revocation::Target::Sid(sid) = &r.target
                && let Some(hash) = self.0.session_handles.remove(sid)
            {
                self.0.session_cache.invalidate(&hash);
            }
        }
        drop(d);
        self.0.revocations_changed.notify_waiters();
    }

    /// A session served from memory: only while the denylist is current
    /// and the session's `sid` is not on it.
    pub fn cached_session(&self, hash: &[u8; 32]) -> Option<(Session, Username)> {
        if !self.denylist_is_current() {
            return None;
        }
        let hit = self.0.session_cache.get(hash)?;
        if self.denylist().sid_revoked(hit.0.handle.as_str()) {
            self.0.session_cache.invalidate(hash);
            return None;
        }
        Some(hit)
    }

    pub fn cache_session(&self, hash: [u8; 32], session: &Session, username: &Username) {
        self.0
            .session_handles
            .insert(session.handle.as_str().to_owned(), hash);
        self.0
            .session_cache
            .insert(hash, (session.clone(), username.clone()));
    }

    pub fn forget_session(&self, hash: &[u8; 32]) {
        self.0.session_cache.invalidate(hash);
    }

    /// Records that the denylist was just brought up to date.
    pub fn denylist_synced(&self) {
        let mut until = self
            .0
            .denylist_fresh_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *until = self.0.clock.monotonic() + DENYLIST_TRUST;
    }

    /// Whether this node can vouch that its denylist is current: if the
    /// store has been unreachable for longer than [`DENYLIST_TRUST`], a
    /// revocation made elsewhere could be missing.
    pub fn denylist_is_current(&self) -> bool {
        let until = *self
            .0
            .denylist_fresh_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.0.clock.monotonic() <= until
    }

    /// Read access to the denylist.
    pub fn denylist(&self) -> std::sync::RwLockReadGuard<'_, Denylist> {
        self.0
            .denylist
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops denylist entries whose tokens have all expired.
    pub fn prune_denylist(&self) {
        let now = self.0.clock.now();
        self.0
            .denylist
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .prune(now);
    }

    /// As [`deny`](Self::deny), for what an ending operation returned.
    pub fn ended(&self, ended: &Ended) {
        self.deny(&ended.revocations);
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
