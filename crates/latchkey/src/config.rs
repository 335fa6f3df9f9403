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
}

impl Config {
    /// Takes `issuer` (the one recorded in the store) as this node's, with
    /// the public origin that follows from it.
    pub fn adopt_issuer(&mut self, issuer: String) {
        if self.http.public_origin.is_some() {
            self.http.public_origin = Some(origin_of(&issuer));
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
        writeln!(f, "invalid configuration ({} problems):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The keys latchkey knows, with their kinds.
const KEYS: &[(&str, Kind)] = &[
    ("listen", Kind::Addr),
    ("database_url", Kind::DatabaseUrl),
    ("redis_url", Kind::RedisUrl),
    ("issuer", Kind::HttpUrl),
    ("allow_registration", Kind::Bool),
    ("log", Kind::Str),
    ("trusted_proxies", Kind::IpList),
    ("cookies.secure", Kind::Bool),
    ("cookies.same_site", Kind::SameSite),
    ("sessions.idle_timeout", Kind::Duration),
    ("sessions.absolute_timeout", Kind::Duration),
    ("login_limits.per_account", Kind::Count),
    ("login_limits.per_address", Kind::Count),
    ("login_limits.window", Kind::Duration),
    ("master_key", Kind::MasterKey),
    ("tokens.algorithm", Kind::Algorithm),
    ("tokens.audience", Kind::Str),
    ("tokens.access_ttl", Kind::Duration),
    ("tokens.refresh_ttl", Kind::Duration),
    ("tokens.refresh_grace", Kind::Duration),
    ("forward_auth.audience", Kind::Str),
    ("introspection.clients", Kind::Clients),
    ("cors.allowed_origins", Kind::Origins),
    ("server.header_read_timeout", Kind::Duration),
    ("server.body_read_timeout", Kind::Duration),
    ("server.max_connections", Kind::Count),
    ("store.probe_timeout", Kind::Duration),
    ("store.retry_interval", Kind::Duration),
    ("metrics.listen", Kind::Addr),
    ("metrics.token", Kind::Str),
    ("rate_limits.register.per_address", Kind::Count),
    ("rate_limits.register.window", Kind::Duration),
    ("rate_limits.token_refresh.per_address", Kind::Count),
    ("rate_limits.token_refresh.window", Kind::Duration),
    ("rate_limits.token_revoke.per_address", Kind::Count),
    ("rate_limits.token_revoke.window", Kind::Duration),
    ("rate_limits.token_introspect.per_address", Kind::Count),
    ("rate_limits.token_introspect.window", Kind::Duration),
    ("rate_limits.cookie_refresh.per_address", Kind::Count),
    ("rate_limits.cookie_refresh.window", Kind::Duration),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Str,
    Bool,
    Count,
    Duration,
    Addr,
    DatabaseUrl,
    RedisUrl,
    HttpUrl,
    IpList,
    SameSite,
    MasterKey,
    Algorithm,
    Clients,
    Origins,
}

/// Loads and validates. `env` is the process environment (passed in so
/// that tests need not touch the real one); only `LATCHKEY_*` is read.
pub fn load(
    file: Option<&Path>,
    env: HashMap<String, String>,
    overrides: &Overrides,
) -> Result<Config, ConfigErrors> {
    let raw = merge(file, env, overrides).map_err(|e| ConfigErrors(vec![e]))?;
    validate(&raw)
}

fn merge(
    file: Option<&Path>,
    env: HashMap<String, String>,
    overrides: &Overrides,
) -> Result<Value, String> {
    let mut builder = config::Config::builder();
    if let Some(path) = file {
        if !path.is_file() {
            return Err(format!("config file {} does not exist", path.display()));
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    let env: config::Map<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("LATCHKEY_"))
        .collect();
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

fn validate(raw: &Value) -> Result<Config, ConfigErrors> {
    let mut flat = Vec::new();
    flatten("", raw, &mut flat);
    let mut errors = Vec::new();
    let mut known: HashMap<&'static str, (Kind, Value)> = HashMap::new();
    let mut bff: std::collections::BTreeMap<String, Vec<(String, Value)>> = Default::default();
    for (key, value) in flat {
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
                known.insert(k, (*kind, value));
            }
            None => errors.push(format!("unknown key `{key}`")),
        }
    }
    let mut v = Values {
        known,
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
    let defaults = Settings::default();
    let session_defaults = SessionPolicy::default();
    let limit_defaults = LoginLimits::default();
    let token_defaults = TokenSettings::default();
    let http = Settings {
        cookie_secure: v.bool("cookies.secure").unwrap_or(defaults.cookie_secure),
        same_site: v
            .same_site("cookies.same_site")
            .unwrap_or(defaults.same_site),
        sessions: SessionPolicy {
            idle_timeout: v
                .duration("sessions.idle_timeout")
                .unwrap_or(session_defaults.idle_timeout),
            absolute_timeout: v
                .duration("sessions.absolute_timeout")
                .unwrap_or(session_defaults.absolute_timeout),
            touch_interval: session_defaults.touch_interval,
        },
        login_limits: LoginLimits {
            per_account: v
                .count("login_limits.per_account")
                .unwrap_or(limit_defaults.per_account),
            per_address: v
                .count("login_limits.per_address")
                .unwrap_or(limit_defaults.per_address),
            window: v
                .duration("login_limits.window")
                .unwrap_or(limit_defaults.window),
        },
        allow_registration: v
            .bool("allow_registration")
            .unwrap_or(defaults.allow_registration),
        public_origin: Some(origin_of(&issuer)),
        trusted_proxies: v.ips("trusted_proxies").unwrap_or_default(),
        address_limits: address_limits(&mut v),
        metrics_public: true,
        metrics_token: v.metrics_token("metrics.token"),
        tokens: TokenSettings {
            issuer: issuer.clone(),
            audience: v
                .string("tokens.audience")
                .unwrap_or(token_defaults.audience),
            forward_auth_audience: v
                .string("forward_auth.audience")
                .unwrap_or(token_defaults.forward_auth_audience),
            access_ttl: v
                .duration("tokens.access_ttl")
                .unwrap_or(token_defaults.access_ttl),
            refresh_ttl: v
                .duration("tokens.refresh_ttl")
                .unwrap_or(token_defaults.refresh_ttl),
            refresh_grace: v
                .duration("tokens.refresh_grace")
                .unwrap_or(token_defaults.refresh_grace),
        },
        cors_allowed_origins: v.origins("cors.allowed_origins").unwrap_or_default(),
        bff_apis: bff_apis(bff, v.errors),
        introspection_clients: v.clients("introspection.clients").unwrap_or_default(),
        body_read_timeout: v
            .duration("server.body_read_timeout")
            .unwrap_or(defaults.body_read_timeout),
    };
    let (server, circuit) = connection_settings(&mut v);
    let metrics_listen = v.addr("metrics.listen");
    let log = v.string("log").unwrap_or_else(|| "info".into());
    let algorithm = v.algorithm("tokens.algorithm").unwrap_or(Algorithm::EdDSA);
    let master_key = v.master_key("master_key");
    audience_conflicts(&http, v.errors);
    if http.tokens.refresh_grace >= http.tokens.refresh_ttl {
        v.errors
            .push("`tokens.refresh_grace` must be shorter than `tokens.refresh_ttl`".into());
    }
    if errors.is_empty() {
        Ok(Config {
            listen,
            database_url,
            redis_url,
            issuer,
            issuer_configured,
            metrics_listen,
            log,
            algorithm,
            master_key,
            http,
            server,
            circuit,
        })
    } else {
        errors.sort();
        Err(ConfigErrors(errors))
    }
}

/// `[bff.apis.NAME]` tables: `url` (required), `timeout_ms` (10000),
/// `audience` (NAME), `max_body_bytes` (10 MiB), `forward_cookies` and
/// `pass_set_cookie` (false).
fn bff_apis(
    tables: std::collections::BTreeMap<String, Vec<(String, Value)>>,
    errors: &mut Vec<String>,
) -> Vec<BffApi> {
    let mut out = Vec::new();
    for (name, fields) in tables {
        let at = |f: &str| format!("bff.apis.{name}.{f}");
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name {
            errors.push(format!(
                "`bff.apis.{name}`: names are 1-64 of a-z A-Z 0-9 - _"
            ));
            continue;
        }
        let mut api = BffApi {
            name: name.clone(),
            url: axum::http::Uri::from_static("http://invalid"),
            timeout: Duration::from_secs(10),
            audience: name.clone(),
            max_body_bytes: 10 * 1024 * 1024,
            forward_cookies: false,
            pass_set_cookie: false,
        };
        let mut has_url = false;
        for (field, value) in fields {
            match field.as_str() {
                "url" => match text(&value)
                    .ok()
                    .and_then(|u| u.parse::<axum::http::Uri>().ok())
                {
                    Some(u)
                        if u.scheme_str() == Some("http")
                            && u.host().is_some()
                            && u.query().is_none() =>
                    {
                        api.url = u;
                        has_url = true;
                    }
                    _ => errors.push(format!("`{}`: expected an http://host:port URL", at("url"))),
                },
                "timeout_ms" => match number(&value).filter(|n| *n > 0) {
                    Some(ms) => api.timeout = Duration::from_millis(ms),
                    None => errors.push(format!(
                        "`{}`: expected milliseconds above 0",
                        at("timeout_ms")
                    )),
                },
                "audience" => match text(&value) {
                    Ok(a) if !a.is_empty() => api.audience = a,
                    _ => errors.push(format!("`{}`: expected a string", at("audience"))),
                },
                "max_body_bytes" => match number(&value).filter(|n| *n > 0) {
                    Some(n) => api.max_body_bytes = n,
                    None => errors.push(format!(
                        "`{}`: expected bytes above 0",
                        at("max_body_bytes")
                    )),
                },
                "forward_cookies" => match flag(&value) {
                    Some(b) => api.forward_cookies = b,
                    None => errors.push(format!(
                        "`{}`: expected true or false",
                        at("forward_cookies")
                    )),
                },
                "pass_set_cookie" => match flag(&value) {
                    Some(b) => api.pass_set_cookie = b,
                    None => errors.push(format!(
                        "`{}`: expected true or false",
                        at("pass_set_cookie")
                    )),
                },
                other => errors.push(format!("unknown key `{}`", at(other))),
            }
        }
        if !has_url {
            errors.push(format!("`{}` is required", at("url")));
        }
        out.push(api);
    }
    out
}

/// Every audience latchkey mints for must be its own: a token minted for
/// an upstream (a BFF API, forward auth) is never a first-party credential
/// nor valid at another upstream.
fn audience_conflicts(http: &Settings, errors: &mut Vec<String>) {
    let first = &http.tokens.audience;
    let forward = &http.tokens.forward_auth_audience;
    let mut taken: Vec<(&str, String)> = vec![(first, "tokens.audience".into())];
    if forward.is_empty() || forward == first {
        errors.push(
            "`forward_auth.audience`: must be non-empty and differ from `tokens.audience`".into(),
        );
    } else {
        taken.push((forward, "forward_auth.audience".into()));
    }
    for api in &http.bff_apis {
        let key = format!("bff.apis.{}.audience", api.name);
        match taken.iter().find(|(a, _)| *a == api.audience) {
            Some((_, owner)) => errors.push(format!(
                "`{key}`: \"{}\" is already the audience of `{owner}`; each upstream needs its own",
                api.audience
            )),
            None => taken.push((&api.audience, key)),
        }
    }
}

/// `server.*` (deadlines, the connection cap) and `store.*` (the probe
/// timeout and circuit breaker).
fn connection_settings(v: &mut Values<'_>) -> (ServerSettings, CircuitSettings) {
    let server = ServerSettings::default();
    let circuit = CircuitSettings::default();
    let server = ServerSettings {
        header_read_timeout: v
            .duration("server.header_read_timeout")
            .unwrap_or(server.header_read_timeout),
        max_connections: v
            .count("server.max_connections")
            .map_or(server.max_connections, |n| n as usize),
    };
    let circuit = CircuitSettings {
        probe_timeout: v
            .duration("store.probe_timeout")
            .unwrap_or(circuit.probe_timeout),
        retry_interval: v
            .duration("store.retry_interval")
            .unwrap_or(circuit.retry_interval),
    };
    (server, circuit)
}

/// `rate_limits.NAME.per_address` and `.window` for each limited endpoint.
fn address_limits(v: &mut Values<'_>) -> AddressLimits {
    let mut limits = AddressLimits::default();
    let slots: [(&str, &mut RouteLimit); 5] = [
        ("register", &mut limits.register),
        ("token_refresh", &mut limits.token_refresh),
        ("token_revoke", &mut limits.token_revoke),
        ("token_introspect", &mut limits.token_introspect),
        ("cookie_refresh", &mut limits.cookie_refresh),
    ];
    for (name, slot) in slots {
        if let Some(n) = v.count(&format!("rate_limits.{name}.per_address")) {
            slot.per_address = n;
        }
        if let Some(w) = v.duration(&format!("rate_limits.{name}.window")) {
            slot.window = w;
        }
    }
    limits
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

struct Values<'a> {
    known: HashMap<&'static str, (Kind, Value)>,
    errors: &'a mut Vec<String>,
}

impl Values<'_> {
    /// The value at `key` parsed by its kind; records an error if it is
    /// present but bad.
    fn parsed<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(Kind, &Value) -> Result<T, String>,
    ) -> Option<T> {
        let (kind, value) = self.known.get(key)?;
        match parse(*kind, value) {
            Ok(v) => Some(v),
            Err(why) => {
                self.errors.push(format!("`{key}`: {why}"));
                None
            }
        }
    }

    fn string(&mut self, key: &str) -> Option<String> {
        self.parsed(key, |kind, v| {
            let s = text(v)?;
            match kind {
                Kind::DatabaseUrl
                    if !(s.starts_with("sqlite:")
                        || s.starts_with("postgres://")
                        || s.starts_with("postgresql://")) =>
                {
                    Err("expected sqlite://PATH or postgres://USER@HOST/DB".into())
                }
                Kind::RedisUrl if !(s.starts_with("redis://") || s.starts_with("rediss://")) => {
                    Err("expected redis://HOST:PORT".into())
                }
                Kind::HttpUrl if !(s.starts_with("http://") || s.starts_with("https://")) => {
                    Err("expected an http:// or https:// URL".into())
                }
                _ => Ok(s),
            }
        })
    }

    fn bool(&mut self, key: &str) -> Option<bool> {
        self.parsed(key, |_, v| {
            flag(v).ok_or_else(|| "expected true or false".into())
        })
    }

    fn count(&mut self, key: &str) -> Option<u32> {
        self.parsed(key, |_, v| {
            number(v)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| "expected a whole number from 1 to 4294967295".into())
        })
    }

    fn duration(&mut self, key: &str) -> Option<Duration> {
        self.parsed(key, |_, v| {
            let s = text(v)?;
            let d = humantime::parse_duration(&s)
                .map_err(|e| format!("expected a duration like \"30m\" or \"7d\" ({e})"))?;
            if d.is_zero() {
                return Err("must be longer than zero".into());
            }
            Ok(d)
        })
    }

    fn addr(&mut self, key: &str) -> Option<SocketAddr> {
        self.parsed(key, |_, v| {
            text(v)?
                .parse::<SocketAddr>()
                .map_err(|_| "expected an address like 127.0.0.1:8080".into())
        })
    }

    fn same_site(&mut self, key: &str) -> Option<SameSite> {
        self.parsed(key, |_, v| match text(v)?.to_ascii_lowercase().as_str() {
            "strict" => Ok(SameSite::Strict),
            "lax" => Ok(SameSite::Lax),
            _ => Err("expected \"strict\" or \"lax\" (\"none\" is never allowed)".into()),
        })
    }

    /// Addresses or CIDR ranges (`10.0.0.0/8`), held canonically.
    fn ips(&mut self, key: &str) -> Option<Vec<IpRange>> {
        self.parsed(key, |_, v| {
            let items = list(v, "IP addresses or CIDR ranges")?;
            items
                .iter()
                .map(|s| {
                    s.parse::<IpRange>()
                        .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))
                })
                .collect()
        })
    }

    /// A scrape token: 16 or more visible ASCII characters.
    fn metrics_token(&mut self, key: &str) -> Option<MetricsToken> {
        self.parsed(key, |_, v| {
            let s = text(v)?;
            if s.len() >= 16 && s.bytes().all(|b| b.is_ascii_graphic()) {
                Ok(MetricsToken(s))
            } else {
                Err("expected at least 16 visible ASCII characters".into())
            }
        })
    }

    fn algorithm(&mut self, key: &str) -> Option<Algorithm> {
        self.parsed(key, |_, v| {
            Algorithm::parse(&text(v)?).map_err(|_| "expected EdDSA, ES256, RS256 or HS256".into())
        })
    }

    /// 32 bytes as 64 hex digits or as base64.
    fn master_key(&mut self, key: &str) -> Option<MasterKey> {
        self.parsed(key, |_, v| {
            let s = Zeroizing::new(text(v)?);
            let s = s.trim();
            let bytes = if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                (0..32)
                    .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16))
                    .collect::<Result<Vec<u8>, _>>()
                    .ok()
            } else {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(s).ok()
            };
            bytes
                .map(Zeroizing::new)
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .map(MasterKey::from_bytes)
                .ok_or_else(|| "expected 32 bytes as 64 hex digits or base64".into())
        })
    }

    /// Exact origins: `scheme://host[:port]`, no path, no wildcard.
    fn origins(&mut self, key: &str) -> Option<Vec<String>> {
        self.parsed(key, |_, v| {
            let items = list(v, "origins")?;
            for o in &items {
                let ok = (o.starts_with("http://") || o.starts_with("https://"))
                    && !o.contains('*')
                    && o.split_once("://").is_some_and(|(_, rest)| {
                        !rest.is_empty() && !rest.contains(['/', '?', '#'])
                    });
                if !ok {
                    return Err(format!(
                        "`{o}` is not an origin like https://app.example.com (no path, no wildcard)"
                    ));
                }
            }
            Ok(items)
        })
    }

    fn clients(&mut self, key: &str) -> Option<Vec<IntrospectionClient>> {
        self.parsed(key, |_, v| {
            let Value::Array(items) = v else {
                return Err(
                    "expected [[introspection.clients]] tables with `id` and `secret`".into(),
                );
            };
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let obj = item
                        .as_object()
                        .ok_or(format!("client {i}: expected a table"))?;
                    if let Some(extra) = obj.keys().find(|k| *k != "id" && *k != "secret") {
                        return Err(format!("client {i}: unknown key `{extra}`"));
                    }
                    let id = obj.get("id").map(text).transpose()?.unwrap_or_default();
                    let secret = obj.get("secret").map(text).transpose()?.unwrap_or_default();
                    if id.is_empty() {
                        return Err(format!("client {i}: `id` is required"));
                    }
                    if secret.len() < 16 {
                        return Err(format!(
                            "client {id}: `secret` must be at least 16 characters"
                        ));
                    }
                    Ok(IntrospectionClient {
                        id,
                        secret: secret.into(),
                    })
                })
                .collect()
        })
    }
}

/// A whole number, given natively (TOML) or as a string (environment).
fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `true`/`false`, given natively or as a string.
fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// A list, given as an array (TOML) or comma-separated (environment).
fn list(v: &Value, of: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Array(a) => a.iter().map(text).collect(),
        Value::String(s) => Ok(s
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()),
        _ => Err(format!("expected a list of {of}")),
    }
}

fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err("expected a string".into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn file(toml: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(toml.as_bytes()).unwrap();
        f
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn no_config_gives_the_documented_defaults() {
        let c = load(None, HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://latchkey.db");
        assert_eq!(c.issuer, "http://127.0.0.1:8080");
        assert!(!c.issuer_configured);
        assert!(c.http.cookie_secure);
        assert_eq!(c.http.same_site, SameSite::Strict);
        assert_eq!(c.http.sessions.idle_timeout, Duration::from_secs(1800));
        assert_eq!(
            c.http.sessions.absolute_timeout,
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(c.http.login_limits, LoginLimits::default());
        assert!(c.http.allow_registration);
    }

    #[test]
    fn file_then_env_then_flags() {
        let f = file(
            "listen = \"127.0.0.1:9000\"\n[sessions]\nidle_timeout = \"10m\"\n\
             [login_limits]\nper_account = 3\n",
        );
        let e = env(&[
            ("LATCHKEY_SESSIONS__IDLE_TIMEOUT", "5m"),
            ("LATCHKEY_LOGIN_LIMITS__WINDOW", "1h"),
            ("OTHER_VAR", "ignored"),
        ]);
        let o = Overrides {
            listen: Some("127.0.0.1:9100".into()),
            database_url: Some("sqlite:///tmp/x.db".into()),
        };
        let c = load(Some(f.path()), e, &o).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.database_url, "sqlite:///tmp/x.db");
        assert_eq!(c.http.sessions.idle_timeout, Duration::from_secs(300));
        assert_eq!(c.http.login_limits.per_account, 3);
        assert_eq!(c.http.login_limits.window, Duration::from_secs(3600));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let f = file(
            "listen = \"nope\"\nlisten_port = 1\n[cookies]\nsame_site = \"none\"\nsecure = 3\n\
             [sessions]\nidle_timeout = \"soon\"\n[login_limits]\nper_account = 0\n",
        );
        let e = env(&[("LATCHKEY_TYPO", "1")]);
        let errs = load(Some(f.path()), e, &Overrides::default())
            .unwrap_err()
            .0;
        let all = errs.join("\n");
        for needle in [
            "unknown key `listen_port`",
            "unknown key `typo`",
            "`listen`",
            "`cookies.same_site`",
            "`cookies.secure`",
            "`sessions.idle_timeout`",
            "`login_limits.per_account`",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(errs.len(), 7, "{all}");
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = load(
            Some(Path::new("/nonexistent/latchkey.toml")),
            HashMap::new(),
            &Overrides::default(),
        );
        assert!(err.unwrap_err().to_string().contains("does not exist"));
    }

    #[test]
    fn trusted_proxies_from_file_or_env() {
        let f = file("trusted_proxies = [\"10.0.0.1\", \"::1\"]\n");
        let c = load(Some(f.path()), HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(c.http.trusted_proxies.len(), 2);
        let e = env(&[("LATCHKEY_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2")]);
        let c = load(None, e, &Overrides::default()).unwrap();
        assert_eq!(c.http.trusted_proxies.len(), 2);
    }

    #[test]
    fn cors_origins_are_exact_and_never_wildcards() {
        let f = file(
            "[cors]\nallowed_origins = [\"http://localhost:5173\", \"https://app.example.com\"]\n",
        );
        let c = load(Some(f.path()), HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(c.http.cors_allowed_origins.len(), 2);
        for bad in [
            "*",
            "https://*.example.com",
            "https://app.example.com/",
            "app.example.com",
        ] {
            let e = env(&[("LATCHKEY_CORS__ALLOWED_ORIGINS", bad)]);
            assert!(load(None, e, &Overrides::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn bff_apis_are_tables_with_a_required_url() {
        let f = file(
            "[bff.apis.orders]\nurl = \"http://127.0.0.1:9000/api\"\ntimeout_ms = 2500\n\
             [bff.apis.billing]\nurl = \"http://127.0.0.1:9100\"\naudience = \"billing-api\"\n",
        );
        let c = load(Some(f.path()), HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(c.http.bff_apis.len(), 2);
        let orders = c.http.bff_apis.iter().find(|a| a.name == "orders").unwrap();
        assert_eq!(orders.timeout, Duration::from_millis(2500));
        assert_eq!(orders.audience, "orders");
        let bad =
            file("[bff.apis.x]\ntimeout_ms = 0\ncolour = 1\n[bff.apis.y]\nurl = \"ftp://h\"\n");
        let errs = load(Some(bad.path()), HashMap::new(), &Overrides::default())
            .unwrap_err()
            .0;
        let all = errs.join("\n");
        for needle in [
            "bff.apis.x.url` is required",
            "bff.apis.x.timeout_ms",
            "bff.apis.x.colour",
            "bff.apis.y.url",
        ] {
            assert!(all.contains(needle), "{needle} missing in {all}");
        }
    }

    #[test]
    fn connection_deadlines_the_cap_and_the_store_probe_are_configurable() {
        let c = load(None, HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(c.server.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.http.body_read_timeout, Duration::from_secs(10));
        assert_eq!(c.server.max_connections, 10_000);
        assert_eq!(c.circuit.probe_timeout, Duration::from_millis(500));
        let f = file(
            "[server]\nheader_read_timeout = \"2s\"\nbody_read_timeout = \"3s\"\n\
             max_connections = 50\n[store]\nprobe_timeout = \"200ms\"\nretry_interval = \"5s\"\n",
        );
        let c = load(Some(f.path()), HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(c.server.header_read_timeout, Duration::from_secs(2));
        assert_eq!(c.http.body_read_timeout, Duration::from_secs(3));
        assert_eq!(c.server.max_connections, 50);
        assert_eq!(c.circuit.probe_timeout, Duration::from_millis(200));
        assert_eq!(c.circuit.retry_interval, Duration::from_secs(5));
        let e = env(&[("LATCHKEY_SERVER__MAX_CONNECTIONS", "0")]);
        assert!(load(None, e, &Overrides::default()).is_err());
    }

    #[test]
    fn i9_03_rate_limits_and_metrics_keys() {
        let f = file(
            "[rate_limits.register]\nper_address = 2\nwindow = \"10m\"\n\
             [rate_limits.token_introspect]\nper_address = 5000\n\
             [metrics]\nlisten = \"127.0.0.1:9464\"\ntoken = \"0123456789abcdef0\"\n",
        );
        let c = load(Some(f.path()), HashMap::new(), &Overrides::default()).unwrap();
        let l = c.http.address_limits;
        assert_eq!(l.register.per_address, 2);
        assert_eq!(l.register.window, Duration::from_secs(600));
        assert_eq!(l.token_introspect.per_address, 5000);
        assert_eq!(l.token_refresh, AddressLimits::default().token_refresh);
        assert_eq!(c.metrics_listen.unwrap().port(), 9464);
        assert!(c.http.metrics_token.is_some());
        let e = env(&[
            ("LATCHKEY_RATE_LIMITS__COOKIE_REFRESH__PER_ADDRESS", "0"),
            ("LATCHKEY_METRICS__TOKEN", "short"),
        ]);
        let errs = load(None, e, &Overrides::default()).unwrap_err().0;
        assert_eq!(errs.len(), 2, "{errs:?}");
    }

    #[test]
    fn i9_11_trusted_proxies_take_cidr_ranges() {
        let e = env(&[(
            "LATCHKEY_TRUSTED_PROXIES",
            "10.0.0.0/8, ::ffff:127.0.0.1, fd00::/8",
        )]);
        let c = load(None, e, &Overrides::default()).unwrap();
        let t = &c.http.trusted_proxies;
        assert!(t[0].contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(t[1].contains("127.0.0.1".parse().unwrap()));
        assert!(t[2].contains("fd12::1".parse().unwrap()));
        let e = env(&[("LATCHKEY_TRUSTED_PROXIES", "10.0.0.0/40")]);
        assert!(load(None, e, &Overrides::default()).is_err());
    }

    #[test]
    fn issuer_sets_the_public_origin() {
        let e = env(&[("LATCHKEY_ISSUER", "https://auth.example.com/base")]);
        let c = load(None, e, &Overrides::default()).unwrap();
        assert_eq!(
            c.http.public_origin.as_deref(),
            Some("https://auth.example.com")
        );
    }
}
