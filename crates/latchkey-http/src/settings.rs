//! What the binary configures: the HTTP surface's settings, read from the
//! configuration file and the environment (see the `latchkey` crate's
//! `config` module), with secure defaults.

use std::time::Duration;

use latchkey_core::SessionPolicy;
use latchkey_core::throttle::LoginLimits;

use crate::caller::IpRange;
use crate::limits::AddressLimits;
use latchkey_auth::TokenSettings;

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
    /// Peers whose `X-Forwarded-For` is believed (the load balancer):
    /// addresses or CIDR ranges. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<IpRange>,
    /// Per-address limits on registration, refresh, revoke, introspection
    /// and the cookie refresh.
    pub address_limits: AddressLimits,
    /// Whether `/metrics` is served on the public listener (off when the
    /// binary serves it on a listener of its own).
    pub metrics_public: bool,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    pub metrics_token: Option<MetricsToken>,
    pub tokens: TokenSettings,
    /// Origins (`scheme://host[:port]`) allowed to call latchkey from the
    /// browser with credentials (CORS); exact matches only.
    pub cors_allowed_origins: Vec<String>,
    /// Resource servers allowed to call `/v1/token/introspect`.
    pub introspection_clients: Vec<IntrospectionClient>,
    /// Upstream APIs behind `/bff/{name}/…`.
    pub bff_apis: Vec<BffApi>,
    /// How long a request body may take to arrive on latchkey's own
    /// routes (from the end of the head); then `408` and the connection
    /// closes. The BFF applies its per-API limits instead.
    pub body_read_timeout: Duration,
    /// Seals TOTP secrets at rest (the master key), when configured.
    pub sealing: Option<latchkey_auth::SealingKey>,
    /// `webauthn.*`: the passkeys' relying party id and origins (from the
    /// issuer unless configured).
    pub passkeys: latchkey_auth::PasskeySettings,
    /// Whether the admin API is served on the public listener (off when
    /// the binary serves it on a listener of its own, `admin.listen`).
    pub admin_public: bool,
    /// How `POST /admin/v1/keys/rotate` makes a key (the binary's key
    /// policy, with the master key); `None` refuses rotation.
    pub key_policy: Option<latchkey_auth::keyring::KeyPolicy>,
    /// How long security events are kept (`audit.retention`, 90 days).
    pub audit_retention: Duration,
    /// `[forward_auth]`: who may call `/v1/verify`, the access rules and
    /// where `rd` may send a browser.
    pub forward_auth: crate::forward_auth::ForwardAuthSettings,
    /// `[oidc.providers.NAME]`: the OpenID Connect providers to sign in with.
    pub oidc_providers: Vec<latchkey_oidc::ProviderConfig>,
    /// `[email]`: links, codes and the outbox; `None` turns the e-mail
    /// routes into `501 email_not_configured`.
    pub email: Option<latchkey_auth::EmailSettings>,
    /// `[[webhooks]]`: the event types each webhook subscribes to.
    pub webhooks: latchkey_auth::audit::Subscriptions,
}

/// One upstream API of the Backend-For-Frontend.
#[derive(Clone, Debug)]
pub struct BffApi {
    pub name: String,
    /// `http://host:port[/base]`, no query.
    pub url: axum::http::Uri,
    /// Until the upstream's response headers arrive; then `504`.
    pub timeout: Duration,
    /// `aud` of the tokens minted for this API.
    pub audience: String,
    /// Largest request body passed on; beyond it, `413`.
    pub max_body_bytes: u64,
    /// Pass the browser's cookies other than latchkey's own (default: no).
    pub forward_cookies: bool,
    /// Pass the upstream's `Set-Cookie` to the browser (default: no).
    pub pass_set_cookie: bool,
    /// Put the user's groups in the tokens minted for this API (a
    /// `groups` claim; default: no).
    pub groups_claim: bool,
}

/// The bearer token a Prometheus scraper presents. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(pub String);

impl From<&str> for MetricsToken {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for MetricsToken {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(..)")
    }
}

/// A client of the introspection endpoint (HTTP Basic credentials).
#[derive(Clone)]
pub struct IntrospectionClient {
    pub id: String,
    /// Zeroed when dropped; never printed.
    pub secret: secrecy::SecretString,
}

impl std::fmt::Debug for IntrospectionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionClient")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Revocation entries live this long (the access-token lifetime plus a
    /// minute of clock skew) and then cover nothing.
    pub fn revocation_ttl(&self) -> Duration {
        self.tokens.access_ttl + Duration::from_secs(60)
    }
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
            address_limits: AddressLimits::default(),
            metrics_public: true,
            metrics_token: None,
            tokens: TokenSettings::default(),
            cors_allowed_origins: Vec::new(),
            introspection_clients: Vec::new(),
            bff_apis: Vec::new(),
            body_read_timeout: Duration::from_secs(10),
            sealing: None,
            passkeys: latchkey_auth::PasskeySettings::default(),
            admin_public: true,
            key_policy: None,
            audit_retention: Duration::from_secs(90 * 86_400),
            forward_auth: crate::forward_auth::ForwardAuthSettings::default(),
            oidc_providers: Vec::new(),
            email: None,
            webhooks: latchkey_auth::audit::Subscriptions::default(),
        }
    }
}
