//! Shared state handed to every handler.

use std::net::IpAddr;
use std::sync::Arc;

use latchkey_core::csrf::CsrfKey;
use latchkey_core::throttle::LoginLimits;
use latchkey_core::{Clock, SessionPolicy};
use latchkey_store::Store;

use crate::metrics::Metrics;
use crate::passwords::PasswordService;

/// `SameSite` for latchkey's cookies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
}

/// The typed settings the HTTP layer runs with (validated by the binary).
/// `Default` is the secure default.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `Secure` cookies with `__Host-`/`__Secure-` prefixes. Off only for
    /// plain-HTTP deployments away from localhost.
    pub cookie_secure: bool,
    pub same_site: SameSite,
    pub sessions: SessionPolicy,
    pub login_limits: LoginLimits,
    pub allow_registration: bool,
    /// The server's public origin (`scheme://host[:port]`), accepted as an
    /// `Origin` besides the request's own host.
    pub public_origin: Option<String>,
    /// Peers whose `X-Forwarded-For` is believed (the load balancer).
    /// Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cookie_secure: true,
            same_site: SameSite::Strict,
            sessions: SessionPolicy::default(),
            login_limits: LoginLimits::default(),
            allow_registration: true,
            public_origin: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Cheap to clone; everything lives behind one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub csrf: CsrfKey,
    pub passwords: PasswordService,
    pub metrics: Metrics,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
        csrf: CsrfKey,
        passwords: PasswordService,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            clock,
            settings,
            csrf,
            passwords,
            metrics: Metrics::new(),
        }))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
