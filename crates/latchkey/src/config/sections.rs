//! The sections with their own rules: `[bff.apis.NAME]`, audiences,
//! `server.*`/`store.*` and `rate_limits.*`.

use super::values::{Values, flag, number, text};
use super::*;
use latchkey_auth::PasskeySettings;

/// `[bff.apis.NAME]` tables, by name: each table's fields and values.
pub(super) type BffTables = std::collections::BTreeMap<String, Vec<(String, Value)>>;

/// Everything the HTTP crate is given: cookies, sessions, limits, tokens,
/// CORS, the BFF and introspection.
pub(super) fn http_settings(v: &mut Values<'_>, issuer: &str, bff: BffTables) -> Settings {
    let defaults = Settings::default();
    Settings {
        cookie_secure: v.bool("cookies.secure").unwrap_or(defaults.cookie_secure),
        same_site: v
            .same_site("cookies.same_site")
            .unwrap_or(defaults.same_site),
        sessions: session_policy(v),
        login_limits: login_limits(v),
        allow_registration: v
            .bool("allow_registration")
            .unwrap_or(defaults.allow_registration),
        public_origin: Some(origin_of(issuer)),
        trusted_proxies: v.ips("trusted_proxies").unwrap_or_default(),
        address_limits: address_limits(v),
        metrics_public: true,
        metrics_token: v.metrics_token("metrics.token"),
        tokens: token_settings(v, issuer),
        cors_allowed_origins: v.origins("cors.allowed_origins").unwrap_or_default(),
        bff_apis: bff_apis(bff, v.errors),
        introspection_clients: v.clients("introspection.clients").unwrap_or_default(),
        body_read_timeout: v
            .duration("server.body_read_timeout")
            .unwrap_or(defaults.body_read_timeout),
        // Set from `master_key` once it is read (see `mod.rs`).
        sealing: None,
        passkeys: PasskeySettings {
            rp_id: v.string("webauthn.rp_id"),
            origins: v.origins("webauthn.origins").unwrap_or_default(),
        },
        // Set by the binary: whether `admin.listen` moves the admin API,
        // and the key policy (it holds the master key).
        admin_public: true,
        key_policy: None,
        audit_retention: v
            .duration("audit.retention")
            .unwrap_or(defaults.audit_retention),
        forward_auth: super::forward_auth::settings(v),
        // Set from the `[oidc.providers.NAME]` tables (see `mod.rs`).
        oidc_providers: Vec::new(),
        // Set from `[email]` (see `email.rs`).
        email: None,
        webhooks: defaults.webhooks.clone(),
    }
}

fn session_policy(v: &mut Values<'_>) -> SessionPolicy {
    let d = SessionPolicy::default();
    SessionPolicy {
        idle_timeout: v
            .duration("sessions.idle_timeout")
            .unwrap_or(d.idle_timeout),
        absolute_timeout: v
            .duration("sessions.absolute_timeout")
            .unwrap_or(d.absolute_timeout),
        touch_interval: d.touch_interval,
    }
}

fn login_limits(v: &mut Values<'_>) -> LoginLimits {
    let d = LoginLimits::default();
    LoginLimits {
        per_account: v.count("login_limits.per_account").unwrap_or(d.per_account),
        per_address: v.count("login_limits.per_address").unwrap_or(d.per_address),
        window: v.duration("login_limits.window").unwrap_or(d.window),
    }
}

fn token_settings(v: &mut Values<'_>, issuer: &str) -> TokenSettings {
    let d = TokenSettings::default();
    TokenSettings {
        issuer: issuer.to_owned(),
        audience: v.string("tokens.audience").unwrap_or(d.audience),
        forward_auth_audience: v
            .string("forward_auth.audience")
            .unwrap_or(d.forward_auth_audience),
        access_ttl: v.duration("tokens.access_ttl").unwrap_or(d.access_ttl),
        refresh_ttl: v.duration("tokens.refresh_ttl").unwrap_or(d.refresh_ttl),
        refresh_grace: v
            .duration("tokens.refresh_grace")
            .unwrap_or(d.refresh_grace),
    }
}

/// `[bff.apis.NAME]` tables: `url` (required), `timeout_ms` (10000),
/// `audience` (NAME), `max_body_bytes` (10 MiB), `forward_cookies`,
/// `pass_set_cookie` and `groups_claim` (false).
fn bff_apis(tables: BffTables, errors: &mut Vec<String>) -> Vec<BffApi> {
    let mut out = Vec::new();
    for (name, fields) in tables {
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
            groups_claim: false,
        };
        // A bad `url` is reported as bad, not also as missing.
        let has_url = fields.iter().any(|(field, _)| field == "url");
        for (field, value) in fields {
            let at = format!("bff.apis.{name}.{field}");
            match bff_field(&mut api, &field, &value) {
                Ok(()) => {}
                Err("unknown key") => errors.push(format!("unknown key `{at}`")),
                Err(why) => errors.push(format!("`{at}`: {why}")),
            }
        }
        if !has_url {
            errors.push(format!("`bff.apis.{name}.url` is required"));
        }
        out.push(api);
    }
    out
}

/// Sets one field of `api`.
fn bff_field(api: &mut BffApi, field: &str, value: &Value) -> Result<(), &'static str> {
    match field {
        "url" => match text(value)
            .ok()
            .and_then(|u| u.parse::<axum::http::Uri>().ok())
        {
            Some(u)
                if u.scheme_str() == Some("http") && u.host().is_some() && u.query().is_none() =>
            {
                api.url = u;
            }
            _ => return Err("expected an http://host:port URL"),
        },
        "timeout_ms" => match number(value).filter(|n| *n > 0) {
            Some(ms) => api.timeout = Duration::from_millis(ms),
            None => return Err("expected milliseconds above 0"),
        },
        "audience" => match text(value) {
            Ok(a) if !a.is_empty() => api.audience = a,
            _ => return Err("expected a string"),
        },
        "max_body_bytes" => match number(value).filter(|n| *n > 0) {
            Some(n) => api.max_body_bytes = n,
            None => return Err("expected bytes above 0"),
        },
        "forward_cookies" => api.forward_cookies = flag(value).ok_or("expected true or false")?,
        "pass_set_cookie" => api.pass_set_cookie = flag(value).ok_or("expected true or false")?,
        "groups_claim" => api.groups_claim = flag(value).ok_or("expected true or false")?,
        _ => return Err("unknown key"),
    }
    Ok(())
}

/// Every audience latchkey mints for must be its own: a token minted for
/// an upstream (a BFF API, forward auth) is never a first-party credential
/// nor valid at another upstream.
pub(super) fn audience_conflicts(http: &Settings, errors: &mut Vec<String>) {
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
pub(super) fn connection_settings(v: &mut Values<'_>) -> (ServerSettings, CircuitSettings) {
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
    let slots: [(&str, &mut RouteLimit); 13] = [
        ("register", &mut limits.register),
        ("token_refresh", &mut limits.token_refresh),
        ("token_revoke", &mut limits.token_revoke),
        ("token_introspect", &mut limits.token_introspect),
        ("cookie_refresh", &mut limits.cookie_refresh),
        ("mfa_verify", &mut limits.mfa_verify),
        ("passkey_options", &mut limits.passkey_options),
        ("passkey_login", &mut limits.passkey_login),
        ("admin", &mut limits.admin),
        ("oidc", &mut limits.oidc),
        ("email_send", &mut limits.email_send),
        ("email_link", &mut limits.email_link),
        ("email_login", &mut limits.email_login),
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
