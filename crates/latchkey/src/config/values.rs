//! Typed reads of the merged document, each recording a problem rather
//! than stopping at the first.

use super::keys::Kind;
use super::*;

pub(super) struct Values<'a> {
    pub(super) known: HashMap<&'static str, (Kind, Value)>,
    /// Dotted key → the `LATCHKEY_*` variable that set it.
    pub(super) sources: HashMap<String, String>,
    pub(super) errors: &'a mut Vec<String>,
}

impl Values<'_> {
    /// The value at `key` parsed by its kind; records an error if it is
    /// present but bad (one per line of `why`: a list reports each bad
    /// item), naming the variable it came from when it came from one.
    pub(super) fn parsed<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(Kind, &Value) -> Result<T, String>,
    ) -> Option<T> {
        let (kind, value) = self.known.get(key)?;
        match parse(*kind, value) {
            Ok(v) => Some(v),
            Err(why) => {
                let from = match self.sources.get(key) {
                    Some(var) => format!(" (from {var})"),
                    None => String::new(),
                };
                for line in why.lines() {
                    self.errors.push(format!("`{key}`{from}: {line}"));
                }
                None
            }
        }
    }

    pub(super) fn string(&mut self, key: &str) -> Option<String> {
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

    /// A `tracing` filter (`info`, `latchkey=debug,tower_http=warn`).
    pub(super) fn log_filter(&mut self, key: &str) -> Option<String> {
        self.parsed(key, |_, v| {
            let s = text(v)?;
            tracing_subscriber::EnvFilter::try_new(&s)
                .map(|_| s)
                .map_err(|e| {
                    format!("expected a log filter like \"info\" or \"latchkey=debug\" ({e})")
                })
        })
    }

    pub(super) fn bool(&mut self, key: &str) -> Option<bool> {
        self.parsed(key, |_, v| {
            flag(v).ok_or_else(|| "expected true or false".into())
        })
    }

    pub(super) fn count(&mut self, key: &str) -> Option<u32> {
        self.parsed(key, |_, v| {
            number(v)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| "expected a whole number from 1 to 4294967295".into())
        })
    }

    pub(super) fn duration(&mut self, key: &str) -> Option<Duration> {
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

    pub(super) fn addr(&mut self, key: &str) -> Option<SocketAddr> {
        self.parsed(key, |_, v| {
            text(v)?
                .parse::<SocketAddr>()
                .map_err(|_| "expected an address like 127.0.0.1:8080".into())
        })
    }

    pub(super) fn same_site(&mut self, key: &str) -> Option<SameSite> {
        self.parsed(key, |_, v| match text(v)?.to_ascii_lowercase().as_str() {
            "strict" => Ok(SameSite::Strict),
            "lax" => Ok(SameSite::Lax),
            _ => Err("expected \"strict\" or \"lax\" (\"none\" is never allowed)".into()),
        })
    }

    /// Addresses or CIDR ranges (`10.0.0.0/8`), held canonically.
    pub(super) fn ips(&mut self, key: &str) -> Option<Vec<IpRange>> {
        self.parsed(key, |_, v| {
            let items = list(v, "IP addresses or CIDR ranges")?;
            each(&items, |s| {
                s.parse::<IpRange>()
                    .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))
            })
        })
    }

    /// A scrape token: 16 or more visible ASCII characters.
    pub(super) fn metrics_token(&mut self, key: &str) -> Option<MetricsToken> {
        self.parsed(key, |_, v| {
            let s = text(v)?;
            if s.len() >= 16 && s.bytes().all(|b| b.is_ascii_graphic()) {
                Ok(MetricsToken(s))
            } else {
                Err("expected at least 16 visible ASCII characters".into())
            }
        })
    }

    pub(super) fn algorithm(&mut self, key: &str) -> Option<Algorithm> {
        self.parsed(key, |_, v| {
            Algorithm::parse(&text(v)?).map_err(|_| "expected EdDSA, ES256, RS256 or HS256".into())
        })
    }

    /// 32 bytes as 64 hex digits or as base64.
    pub(super) fn master_key(&mut self, key: &str) -> Option<MasterKey> {
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
    pub(super) fn origins(&mut self, key: &str) -> Option<Vec<String>> {
        self.parsed(key, |_, v| {
            let items = list(v, "origins")?;
            each(&items, |o| {
                let ok = (o.starts_with("http://") || o.starts_with("https://"))
                    && !o.contains('*')
                    && o.split_once("://").is_some_and(|(_, rest)| {
                        !rest.is_empty() && !rest.contains(['/', '?', '#'])
                    });
                if ok {
                    Ok(o.clone())
                } else {
                    Err(format!(
                        "`{o}` is not an origin like https://app.example.com (no path, no wildcard)"
                    ))
                }
            })
        })
    }

    pub(super) fn clients(&mut self, key: &str) -> Option<Vec<IntrospectionClient>> {
        self.parsed(key, |_, v| {
            let Value::Array(items) = v else {
                return Err(
                    "expected [[introspection.clients]] tables with `id` and `secret`".into(),
                );
            };
            let numbered: Vec<_> = items.iter().enumerate().collect();
            each(&numbered, |&(i, item)| {
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
        })
    }
}

/// Every item through `check`; the problems of all bad items, one per
/// line, rather than the first alone.
fn each<I, T>(items: &[I], check: impl Fn(&I) -> Result<T, String>) -> Result<Vec<T>, String> {
    let (good, bad): (Vec<_>, Vec<_>) = items.iter().map(check).partition(Result::is_ok);
    if bad.is_empty() {
        return Ok(good.into_iter().filter_map(Result::ok).collect());
    }
    Err(bad
        .into_iter()
        .filter_map(Result::err)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// A whole number, given natively (TOML) or as a string (environment).
pub(super) fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `true`/`false`, given natively or as a string.
pub(super) fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// A list, given as an array (TOML) or comma-separated (environment).
pub(super) fn list(v: &Value, of: &str) -> Result<Vec<String>, String> {
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

pub(super) fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err("expected a string".into()),
    }
}
