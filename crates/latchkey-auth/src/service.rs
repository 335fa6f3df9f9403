//! The service every adapter (HTTP handler, UI form, CLI command) calls.

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::csrf::CsrfKey;
use latchkey_core::throttle::LoginLimits;
use latchkey_core::{Clock, SessionPolicy};
use latchkey_store::{RevokeAt, Store};

use crate::access::TokenService;
use crate::passwords::PasswordService;
use crate::totp::SealingKey;

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
    /// Seals TOTP secrets at rest (the master key), when configured.
    pub sealing: Option<SealingKey>,
    /// The WebAuthn relying party; `None` when passkeys are not configured.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// E-mail (links, codes, the outbox); `None` without `[email]`.
    pub email: Option<crate::email::EmailSettings>,
    /// `[[webhooks]]`: which webhooks each event is queued for.
    pub webhooks: crate::audit::Subscriptions,
}

/// The policies the use cases apply (from configuration).
#[derive(Clone, Copy, Debug)]
pub struct AuthPolicy {
    pub login_limits: LoginLimits,
    pub sessions: SessionPolicy,
    /// How long revocation entries recorded now live.
    pub revocation_ttl: Duration,
    /// How recent a sign-in must be to stand in for the password where an
    /// operation asks for one (removing a second factor): 5 minutes.
    pub recent_auth: Duration,
}

impl AuthPolicy {
    /// The default [`recent_auth`](Self::recent_auth).
    pub const RECENT_AUTH: Duration = Duration::from_secs(5 * 60);
}

impl AuthService {
    /// Revocations recorded now live `policy.revocation_ttl`.
    pub fn revoke_at(&self) -> RevokeAt<'static> {
        RevokeAt::new(self.clock.now(), self.policy.revocation_ttl)
    }
}
