//! Forward authentication's own rules: who may ask (`trusted_proxies` and
//! an optional shared secret), what the original request was
//! (`original.rs`), which access rule covers it (`rules.rs`) and where a
//! browser may be sent back after signing in (`redirect.rs`).
//!
//! **Invariant:** `/v1/verify` answers only a peer in `trusted_proxies`
//! (and, when `forward_auth.proxy_secret` is set, only a request carrying
//! it in `X-Latchkey-Proxy-Secret`), so a page's script cannot fetch a
//! token through it.

pub mod original;
pub mod redirect;
pub mod rules;

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use subtle::ConstantTimeEq as _;

use crate::caller::IpRange;
pub use original::OriginalRequest;
pub use rules::{Decision, Policy, Rule, RuleError, Rules, Who};

/// The header a proxy sends the shared secret in.
pub const PROXY_SECRET_HEADER: &str = "x-latchkey-proxy-secret";

/// `[forward_auth]` settings the HTTP layer runs with. `Default` is the
/// secure default: no rules and `default_policy = "deny"`.
#[derive(Clone, Debug, Default)]
pub struct ForwardAuthSettings {
    /// When set, `/v1/verify` also requires `X-Latchkey-Proxy-Secret`.
    pub proxy_secret: Option<ProxySecret>,
    /// The access rules and the default policy.
    pub rules: Rules,
    /// Hosts (and their subdomains) a browser may be sent back to after
    /// signing in (`rd`).
    pub allowed_redirect_domains: Vec<String>,
}

/// The shared secret a proxy presents. `Debug` is redacted.
#[derive(Clone)]
pub struct ProxySecret(pub secrecy::SecretString);

impl std::fmt::Debug for ProxySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProxySecret(..)")
    }
}

/// Whether the request comes from a proxy allowed to call `/v1/verify`:
/// its TCP peer is in `trusted_proxies` and, when a secret is configured,
/// it carries that secret (compared in constant time).
pub fn from_trusted_proxy(
    parts: &Parts,
    trusted: &[IpRange],
    secret: Option<&ProxySecret>,
) -> bool {
    let Some(peer) = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
    else {
        return false;
    };
    if !trusted.iter().any(|r| r.contains(peer)) {
        return false;
    }
    let Some(secret) = secret else {
        return true;
    };
    use secrecy::ExposeSecret as _;
    let expected = secret.0.expose_secret().as_bytes();
    let mut values = parts.headers.get_all(PROXY_SECRET_HEADER).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => bool::from(v.as_bytes().ct_eq(expected)),
        _ => false,
    }
}

/// A group name: 1-64 of `A-Z a-z 0-9 . _ - :` (never a comma, which
/// separates groups in `X-Latchkey-Groups`).
pub fn valid_group_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}
