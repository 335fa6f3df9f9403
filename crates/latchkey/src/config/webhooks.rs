//! `[[webhooks]]` tables: `url` (http or https), `events` (event types,
//! `"*"` or `"prefix.*"`), the signing secret — `secret`, `secret_file`
//! or `secret_env`, exactly one, at least 32 bytes — and an optional
//! `name` (the URL's host by default; names are unique). `[webhook_delivery]`
//! sets how deliveries are tried: `timeout` (10 s), `max_attempts` (10),
//! `retry_initial` (5 s), `retry_max` (10 min), `poll_interval` (1 s).

use latchkey_auth::audit::{Subscriptions, kind};
use secrecy::SecretString;

use super::oidc::read_secret_file;
use super::values::{Values, list, text};
use super::*;
use crate::outbox::Retries;
use crate::webhooks::{Webhook, WebhookSettings};

/// A signing secret's least length, in bytes (HMAC-SHA256's block half).
pub const MIN_SECRET: usize = 32;

/// Reads `[[webhooks]]` and `[webhook_delivery]`: the sender's settings
/// and the subscriptions events are queued by; `None` without webhooks.
pub(super) fn webhook_settings(
    v: &mut Values<'_>,
    env: &HashMap<String, String>,
) -> Option<(WebhookSettings, Subscriptions)> {
    let retries = Retries {
        max_attempts: v
            .count("webhook_delivery.max_attempts")
            .unwrap_or(Retries::DEFAULT.max_attempts),
        initial: v
            .duration("webhook_delivery.retry_initial")
            .unwrap_or(Retries::DEFAULT.initial),
        max: v
            .duration("webhook_delivery.retry_max")
            .unwrap_or(Retries::DEFAULT.max),
    };
    if retries.initial > retries.max {
        v.errors.push(
            "`webhook_delivery.retry_initial` must not exceed `webhook_delivery.retry_max`".into(),
        );
    }
    let timeout = v
        .duration("webhook_delivery.timeout")
        .unwrap_or(Duration::from_secs(10));
    let poll_interval = v
        .duration("webhook_delivery.poll_interval")
        .unwrap_or(Duration::from_secs(1));
    let (_, raw) = v.known.get("webhooks")?.clone();
    let Value::Array(items) = raw else {
        v.errors.push(
            "`webhooks`: expected [[webhooks]] tables with `url`, `events` and `secret`".into(),
        );
        return None;
    };
    let hooks = hooks(&items, env, v.errors);
    let subscriptions = Subscriptions::new(
        hooks
            .iter()
            .map(|h| (h.name.clone(), h.events.clone()))
            .collect(),
    );
    let settings = WebhookSettings {
        hooks,
        retries,
        timeout,
        poll_interval,
    };
    Some((settings, subscriptions))
}

/// Every table checked (all problems of all tables reported).
fn hooks(items: &[Value], env: &HashMap<String, String>, errors: &mut Vec<String>) -> Vec<Webhook> {
    let mut out: Vec<Webhook> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("webhooks[{i}]");
        let Some(table) = item.as_object() else {
            errors.push(format!("`{at}`: expected a table"));
            continue;
        };
        let Some(hook) = hook(&at, table, env, errors) else {
            continue;
        };
        if out.iter().any(|h| h.name == hook.name) {
            errors.push(format!(
                "`{at}`: the name `{}` is taken by another webhook; give each a `name`",
                hook.name
            ));
            continue;
        }
        out.push(hook);
    }
    out
}

fn hook(
    at: &str,
    table: &serde_json::Map<String, Value>,
    env: &HashMap<String, String>,
    errors: &mut Vec<String>,
) -> Option<Webhook> {
    let before = errors.len();
    for key in table.keys() {
        if !FIELDS.contains(&key.as_str()) {
            errors.push(match strsim_nearest(key, FIELDS) {
                Some(meant) => format!("unknown key `{at}.{key}` (did you mean `{meant}`?)"),
                None => format!("unknown key `{at}.{key}`"),
            });
        }
    }
    let get = |k: &str| table.get(k).map(text).transpose();
    let url = match get("url") {
        Ok(Some(url)) => parse_url(&url)
            .map_err(|why| errors.push(format!("`{at}.url`: {why}")))
            .ok(),
        Ok(None) => {
            errors.push(format!("`{at}.url` is required"));
            None
        }
        Err(why) => {
            errors.push(format!("`{at}.url`: {why}"));
            None
        }
    };
    let events = events(at, table.get("events"), errors);
    let secret = secret(at, table, env).map_err(|why| errors.push(why)).ok();
    let name = match get("name") {
        Ok(Some(name)) if valid_name(&name) => Some(name),
        Ok(Some(_)) | Err(_) => {
            errors.push(format!("`{at}.name`: names are 1-64 of a-z 0-9 . - _"));
            None
        }
        Ok(None) => url
            .as_ref()
            .and_then(|u| u.host_str())
            .map(str::to_ascii_lowercase),
    };
    if errors.len() > before {
        return None;
    }
    Some(Webhook {
        name: name?,
        url: url?.to_string(),
        events,
        secret: secret?,
    })
}

const FIELDS: &[&str] = &[
    "url",
    "events",
    "secret",
    "secret_file",
    "secret_env",
    "name",
];

fn strsim_nearest(key: &str, among: &[&'static str]) -> Option<&'static str> {
    among
        .iter()
        .map(|k| (strsim::levenshtein(k, key), *k))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, k)| k)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

fn parse_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("expected an http:// or https:// URL".into());
    }
    Ok(parsed)
}

/// The subscription patterns, each checked against the event types.
fn events(at: &str, value: Option<&Value>, errors: &mut Vec<String>) -> Vec<String> {
    let patterns = match value.map(|v| list(v, "event types")) {
        Some(Ok(p)) if !p.is_empty() => p,
        Some(Ok(_)) | None => {
            errors.push(format!(
                "`{at}.events` is required: a list of event types, \"prefix.*\" or \"*\""
            ));
            return Vec::new();
        }
        Some(Err(why)) => {
            errors.push(format!("`{at}.events`: {why}"));
            return Vec::new();
        }
    };
    for p in &patterns {
        if let Err(why) = check_pattern(p) {
            errors.push(format!("`{at}.events`: {why}"));
        }
    }
    patterns
}

/// A known type, `*`, or `prefix.*` with a known prefix.
fn check_pattern(p: &str) -> Result<(), String> {
    let known = match p.strip_suffix(".*") {
        _ if p == "*" => true,
        Some(prefix) => kind::ALL
            .iter()
            .any(|k| k.starts_with(&format!("{prefix}."))),
        None => kind::ALL.contains(&p),
    };
    if known {
        return Ok(());
    }
    Err(match strsim_nearest_type(p) {
        Some(meant) => format!("unknown event type `{p}` (did you mean `{meant}`?)"),
        None => format!("unknown event type `{p}`"),
    })
}

fn strsim_nearest_type(p: &str) -> Option<String> {
    let prefixes = kind::ALL
        .iter()
        .filter_map(|k| k.split_once('.').map(|(prefix, _)| format!("{prefix}.*")));
    kind::ALL
        .iter()
        .map(|k| (*k).to_owned())
        .chain(prefixes)
        .map(|k| (strsim::levenshtein(&k, p), k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 5))
        .min()
        .map(|(_, k)| k)
}

/// Exactly one of `secret`, `secret_file`, `secret_env`, of at least
/// [`MIN_SECRET`] bytes.
fn secret(
    at: &str,
    table: &serde_json::Map<String, Value>,
    env: &HashMap<String, String>,
) -> Result<SecretString, String> {
    let given: Vec<_> = ["secret", "secret_file", "secret_env"]
        .into_iter()
        .filter_map(|k| table.get(k).map(|v| (k, v)))
        .collect();
    let &[(field, value)] = given.as_slice() else {
        return Err(format!(
            "`{at}`: give exactly one of secret, secret_file, secret_env"
        ));
    };
    let value = text(value).map_err(|why| format!("`{at}.{field}`: {why}"))?;
    let secret = match field {
        "secret" => Some(value.clone()),
        "secret_file" => {
            read_secret_file(&value).map_err(|why| format!("`{at}.{field}`: {why}"))?
        }
        _ => env.get(&value).filter(|v| !v.is_empty()).cloned(),
    };
    let secret = secret
        .map(|s| s.trim().to_owned())
        .ok_or_else(|| match field {
            "secret_env" => format!("`{at}.secret_env`: ${value} is not set"),
            _ => format!("`{at}.{field}`: expected a non-empty secret"),
        })?;
    if secret.len() < MIN_SECRET {
        return Err(format!(
            "`{at}.{field}`: the secret must be at least {MIN_SECRET} bytes (it has {})",
            secret.len()
        ));
    }
    Ok(SecretString::from(secret))
}
