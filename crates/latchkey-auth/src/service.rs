//! The service every adapter (HTTP handler, UI form, CLI command) calls.

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::csrf::CsrfKey;
use latchkey_core::throttle::LoginLimits;
use latchkey_core::{Clock, SessionPolicy};
use latchkey_store::{RevokeAt, Store};

use crate::access::TokenService;
use crate::passwords::PasswordService;

/// What the use cases run on: the store, the clock, the hasher, the token
/// service and the policies. Cheap to clone.
#[derive(Clone)]
pub struct AuthService {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordService,
    pub tokens: Arc<TokenService>,
    pub csrf: CsrfKey,
    pub policy: AuthPolicy,
    /// The WebAuthn relying party; `None` when passkeys are not configured.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

/// The policies the use cases apply (from configuration).
#[derive(Clone, Copy, Debug)]
pub struct AuthPolicy {
    pub login_limits: LoginLimits,
    pub sessions: SessionPolicy,
    /// How long revocation entries recorded now live.
    pub revocation_ttl: Duration,
}

impl AuthService {
    /// Revocations recorded now live `policy.revocation_ttl`.
    pub fn revoke_at(&self) -> RevokeAt {
        RevokeAt {
            now: self.clock.now(),
            ttl: self.policy.revocation_ttl,
        }
    }
}
