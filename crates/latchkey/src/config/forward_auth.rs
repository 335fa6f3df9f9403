//! `[forward_auth]`: the default policy, the access rules (validated here,
//! every problem reported), the domains `rd` may point to and the proxy's
//! shared secret.

use latchkey_http::ForwardAuthSettings;
use latchkey_http::forward_auth::rules::{Policy, RuleSpec, Rules};
use latchkey_http::forward_auth::{ProxySecret, original};

use super::values::{Values, list, text};
use super::*;

pub(super) fn settings(v: &mut Values<'_>) -> ForwardAuthSettings {
    let default_policy = v
        .parsed("forward_auth.default_policy", |_, value| {
            text(value)?.parse::<Policy>()
        })
        .unwrap_or_default();
    let specs = v
        .parsed("forward_auth.rules", |_, value| rule_specs(value))
        .unwrap_or_default();
    let rules = match Rules::new(&specs, default_policy) {
        Ok(rules) => rules,
        Err(problems) => {
            v.errors.extend(problems);
            Rules::default()
        }
    };
    let allowed_redirect_domains = v
        .parsed("forward_auth.allowed_redirect_domains", |_, value| {
            domains(value)
        })
        .unwrap_or_default();
    let proxy_secret = v.parsed("forward_auth.proxy_secret", |_, value| {
        let s = text(value)?;
        if s.len() >= 16 && s.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(ProxySecret(s.into()))
        } else {
            Err("expected at least 16 visible ASCII characters".into())
        }
    });
    ForwardAuthSettings {
        proxy_secret,
        rules,
        allowed_redirect_domains,
    }
}

/// `[[forward_auth.rules]]` tables as written; each is validated by
/// [`Rules::new`].
fn rule_specs(value: &Value) -> Result<Vec<RuleSpec>, String> {
    let Value::Array(items) = value else {
        return Err("expected [[forward_auth.rules]] tables".into());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value::<RuleSpec>(item.clone()).map_err(|e| format!("rule {i}: {e}"))
        })
        .collect()
}

/// Host names (a leading `.` or `*.` is allowed and means the same: the
/// domain and its subdomains).
fn domains(value: &Value) -> Result<Vec<String>, String> {
    let items = list(value, "domains")?;
    items
        .into_iter()
        .map(|d| {
            let name = d
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .to_ascii_lowercase();
            match original::host_of(&name) {
                Some(h) if h == name && !name.starts_with('[') => Ok(name),
                _ => Err(format!("`{d}` is not a domain like example.com")),
            }
        })
        .collect()
}
