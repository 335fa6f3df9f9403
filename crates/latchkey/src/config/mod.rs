//! Configuration: defaults, then the TOML file, then `LATCHKEY_*`
//! variables, then command-line flags. The merged document is checked as a
//! whole and *every* problem is reported at once (unknown keys, wrong
//! types, bad values), so an operator fixes a file in one round.
//!
//! Two types, as the style guide asks: the merged raw document (a JSON
//! value, whatever its source) and the typed [`Config`] it validates into.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use latchkey_core::SessionPolicy;
use latchkey_core::throttle::LoginLimits;
use latchkey_http::{
    AddressLimits, BffApi, IntrospectionClient, IpRange, MetricsToken, RouteLimit, SameSite,
    Settings, TokenSettings,
};
use latchkey_store::circuit::CircuitSettings;
use latchkey_tokens::Algorithm;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::server::ServerSettings;

mod email;
mod env;
mod forward_auth;
mod keys;
mod oidc;
mod sections;
mod values;
mod webhooks;

use keys::{KEYS, Kind};
use sections::{BffTables, audience_conflicts, connection_settings, http_settings};
use values::Values;

/// Validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Optional Redis for the shared hot path (session cache, login
    /// counters, revocation fan-out).
    pub redis_url: Option<String>,
    pub issuer: String,
    /// Whether `issuer` was configured (rather than derived from `listen`).
    pub issuer_configured: bool,
    /// Serve `/metrics` on this address alone (and not on `listen`).
    pub metrics_listen: Option<SocketAddr>,
    /// Serve the admin API on this address alone (and not on `listen`).
    pub admin_listen: Option<SocketAddr>,
    /// `tracing` filter directives, e.g. `info` or `latchkey=debug`.
    pub log: String,
    /// Signing algorithm for new keys.
    pub algorithm: Algorithm,
    /// Seals private signing keys in the store (`LATCHKEY_MASTER_KEY`).
    pub master_key: Option<MasterKey>,
    pub http: Settings,
    /// Connection handling: deadlines and the connection cap.
    pub server: ServerSettings,
    /// The store's probe timeout and circuit breaker.
    pub circuit: CircuitSettings,
    /// `LATCHKEY_*` variables that are not configuration (Kubernetes'
    /// service variables, test switches, misspellings), for one warning at
    /// start.
    pub ignored_env: Vec<String>,
    /// `[email]`: how the outbox's messages are sent (`None`: e-mail off).
    pub smtp: Option<crate::mailer::SmtpSettings>,
    /// `[[webhooks]]` and how deliveries are tried (`None`: no webhooks).
    pub webhooks: Option<crate::webhooks::WebhookSettings>,
}

impl Config {
    /// Takes `issuer` (the one recorded in the store) as this node's, with
    /// the public origin that follows from it.
    pub fn adopt_issuer(&mut self, issuer: String) {
        if self.http.public_origin.is_some() {
            self.http.public_origin = Some(origin_of(&issuer));
        }
        if let Some(email) = &mut self.http.email {
            // Links point at the issuer's origin.
            email.origin = origin_of(&issuer);
        }
        self.http.tokens.issuer.clone_from(&issuer);
        self.issuer = issuer;
    }
}

/// 32 bytes that seal signing keys at rest. `Debug` is redacted; not
/// `Copy`, and zeroed when dropped.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key, for the key ring (which zeroes its copy too).
    pub fn zeroizing(&self) -> Zeroizing<[u8; 32]> {
        self.0.clone()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
}

/// Every problem found, one per line.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        let plural = if n == 1 { "" } else { "s" };
        writeln!(f, "invalid configuration ({n} problem{plural}):")?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Loads and validates. `env` is the process environment (passed in so
/// that tests need not touch the real one); only `LATCHKEY_*` is read.
pub fn load(
    file: Option<&Path>,
    env: HashMap<String, String>,
    overrides: &Overrides,
) -> Result<Config, ConfigErrors> {
    let process_env = env.clone();
    let env = env::Environment::read(env);
    let sources = env.sources.clone();
    let ignored = env.ignored.clone();
    let raw = merge(file, env.vars, overrides).map_err(|e| ConfigErrors(vec![e]))?;
    let mut config = validate(&raw, sources, &process_env)?;
    config.ignored_env = ignored;
    Ok(config)
}

fn merge(
    file: Option<&Path>,
    env: config::Map<String, String>,
    overrides: &Overrides,
) -> Result<Value, String> {
    let mut builder = config::Config::builder();
    if let Some(path) = file {
        if !path.is_file() {
            return Err(format!("config file {} does not exist", path.display()));
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    builder = builder.add_source(
        config::Environment::with_prefix("LATCHKEY")
            .prefix_separator("_")
            .separator("__")
            .source(Some(env)),
    );
    let set = |b: config::ConfigBuilder<_>, key: &str, v: &Option<String>| match v {
        Some(v) => b.set_override(key, v.clone()),
        None => Ok(b),
    };
    builder = set(builder, "listen", &overrides.listen).map_err(|e| e.to_string())?;
    builder = set(builder, "database_url", &overrides.database_url).map_err(|e| e.to_string())?;
    let built = builder.build().map_err(|e| e.to_string())?;
    built.try_deserialize::<Value>().map_err(|e| e.to_string())
}

/// Flattens tables into dotted keys.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}

fn validate(
    raw: &Value,
    sources: HashMap<String, String>,
    env: &HashMap<String, String>,
) -> Result<Config, ConfigErrors> {
    let (known, bff, providers, mut errors) = partition(raw);
    let mut v = Values {
        known,
        sources,
        errors: &mut errors,
    };
    let listen = v.addr("listen").unwrap_or_else(default_listen);
    let database_url = v
        .string("database_url")
        .unwrap_or_else(|| "sqlite://latchkey.db".into());
    let redis_url = v.string("redis_url");
    let configured_issuer = v.string("issuer");
    let issuer_configured = configured_issuer.is_some();
    let issuer = configured_issuer.unwrap_or_else(|| format!("http://{listen}"));
    let mut http = http_settings(&mut v, &issuer, bff);
    http.oidc_providers = oidc::providers(providers, env, v.errors);
    let (server, circuit) = connection_settings(&mut v);
    let metrics_listen = v.addr("metrics.listen");
    let admin_listen = v.addr("admin.listen");
    let log = v.log_filter("log").unwrap_or_else(|| "info".into());
    let algorithm = v.algorithm("tokens.algorithm").unwrap_or(Algorithm::EdDSA);
    let master_key = v.master_key("master_key");
    // TOTP secrets are sealed with the key that seals signing keys.
    http.sealing = master_key
        .as_ref()
        .map(|k| latchkey_auth::SealingKey::new(k.zeroizing()));
    let smtp = email::email_settings(&mut v, &issuer).map(|(smtp, email)| {
        http.email = Some(email);
        smtp
    });
    let webhooks = webhooks::webhook_settings(&mut v, env).map(|(hooks, subscriptions)| {
        http.webhooks = subscriptions;
        hooks
    });
    cross_checks(&http, &issuer, v.errors);
    if !errors.is_empty() {
        errors.sort();
        return Err(ConfigErrors(errors));
    }
    Ok(Config {
        listen,
        database_url,
        redis_url,
        issuer,
        issuer_configured,
        metrics_listen,
        admin_listen,
        log,
        algorithm,
        master_key,
        http,
        server,
        circuit,
        ignored_env: Vec::new(),
        smtp,
        webhooks,
    })
}

/// Rules between keys: audiences apart, a relying party that fits the
/// issuer, timeouts and refresh lifetimes that make sense together.
fn cross_checks(http: &Settings, issuer: &str, errors: &mut Vec<String>) {
    audience_conflicts(http, errors);
    passkey_problems(http, issuer, errors);
    if http.sessions.idle_timeout > http.sessions.absolute_timeout {
        errors.push(
            "`sessions.idle_timeout` must not be longer than `sessions.absolute_timeout`".into(),
        );
    }
    if http.tokens.refresh_grace >= http.tokens.refresh_ttl {
        errors.push("`tokens.refresh_grace` must be shorter than `tokens.refresh_ttl`".into());
    }
}

/// The flattened document split into known keys, `[bff.apis.NAME]` and
/// `[oidc.providers.NAME]` tables and the problems found so far (unknown
/// keys).
type Partition = (
    HashMap<&'static str, (Kind, Value)>,
    BffTables,
    oidc::OidcTables,
    Vec<String>,
);

fn partition(raw: &Value) -> Partition {
    let mut flat = Vec::new();
    flatten("", raw, &mut flat);
    let mut errors = Vec::new();
    let mut known = HashMap::new();
    let mut bff = BffTables::default();
    let mut providers = oidc::OidcTables::default();
    for (key, value) in flat {
        if let Some(rest) = key.strip_prefix(oidc::PREFIX) {
            match rest.split_once('.') {
                Some((name, field)) => providers
                    .entry(name.to_owned())
                    .or_default()
                    .push((field.to_owned(), value)),
                None => errors.push(format!("`{key}`: expected an [oidc.providers.NAME] table")),
            }
            continue;
        }
        if let Some(rest) = key.strip_prefix("bff.apis.") {
            match rest.rsplit_once('.') {
                Some((name, field)) => bff
                    .entry(name.to_owned())
                    .or_default()
                    .push((field.to_owned(), value)),
                None => errors.push(format!("`{key}`: expected a [bff.apis.NAME] table")),
            }
            continue;
        }
        match KEYS.iter().find(|(k, _)| *k == key) {
            Some((k, kind)) => {
                known.insert(*k, (*kind, value));
            }
            None => errors.push(match env::nearest(&key) {
                Some(meant) => format!("unknown key `{key}` (did you mean `{meant}`?)"),
                None => format!("unknown key `{key}`"),
            }),
        }
    }
    (known, bff, providers, errors)
}

/// Configured `webauthn.*` keys must make a relying party with the issuer
/// (one line per problem). Unconfigured, a failure is no error: passkeys
/// are then off, and the start-up log says why.
fn passkey_problems(http: &Settings, issuer: &str, errors: &mut Vec<String>) {
    let p = &http.passkeys;
    if p.rp_id.is_none() && p.origins.is_empty() {
        return;
    }
    if let Err(problems) = p.relying_party(issuer) {
        errors.extend(problems);
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// `scheme://authority` of a URL already checked to be http(s).
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

#[cfg(test)]
mod oidc_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod webhooks_tests;
