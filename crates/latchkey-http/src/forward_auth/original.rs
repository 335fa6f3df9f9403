//! The request the proxy asks about, as its headers describe it:
//! `X-Original-URL` (an absolute URL), or `X-Forwarded-Proto`,
//! `X-Forwarded-Host` and `X-Forwarded-Uri`; the method from
//! `X-Forwarded-Method` / `X-Original-Method` (see `routes/verify.rs`).
//!
//! The path that rules match is normalised the way an upstream would see
//! it: percent-decoded, dot segments resolved, repeated slashes merged, so
//! `/public/../admin` or `/%61dmin` cannot slip past a rule on `/admin`.
//! A path that cannot be normalised (a backslash, an encoded slash, bad
//! UTF-8, a control character) is refused by the caller.

use axum::http::{HeaderMap, Method};

/// The original request: scheme, host (lower case, no port), the raw path
/// and query as sent (for `rd`), the normalised path (for rules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalRequest {
    pub scheme: String,
    pub host: String,
    /// `host[:port]` as the client sent it.
    pub authority: String,
    /// The path and query as sent (`/a/b?x=1`).
    pub target: String,
    /// The normalised path, without the query.
    pub path: String,
    pub method: Method,
}

/// Why the forwarded description could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadOriginal;

impl OriginalRequest {
    /// The original URL, absolute.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.target)
    }

    /// Reads the headers; `None` when the proxy sent no host at all.
    pub fn from_headers(headers: &HeaderMap, method: Method) -> Result<Option<Self>, BadOriginal> {
        let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
        let (scheme, authority, target) = if let Some(url) = get("x-original-url") {
            let (scheme, rest) = url.split_once("://").ok_or(BadOriginal)?;
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let target = match &rest[end..] {
                "" => "/".to_owned(),
                t if t.starts_with('?') => format!("/{t}"),
                t => t.to_owned(),
            };
            (scheme.to_owned(), rest[..end].to_owned(), target)
        } else {
            let Some(host) = get("x-forwarded-host") else {
                return Ok(None);
            };
            let scheme = get("x-forwarded-proto").unwrap_or("https");
            let target = get("x-forwarded-uri").unwrap_or("/");
            (scheme.to_owned(), host.to_owned(), target.to_owned())
        };
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https") || !target.starts_with('/') {
            return Err(BadOriginal);
        }
        let host = host_of(&authority).ok_or(BadOriginal)?;
        if target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(BadOriginal);
        }
        let raw_path = target.split(['?', '#']).next().unwrap_or("/");
        let path = normalize(raw_path).ok_or(BadOriginal)?;
        Ok(Some(Self {
            scheme,
            host,
            authority,
            target,
            path,
            method,
        }))
    }
}

/// The host of `host[:port]`, lower case; `None` if it is not a plain DNS
/// name or an IP literal (userinfo, spaces and the like are refused).
pub fn host_of(authority: &str) -> Option<String> {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        return Some(format!("[{}]", v6.to_ascii_lowercase()));
    } else {
        match authority.rsplit_once(':') {
            Some((h, port)) if is_port(port) => h,
            Some(_) => return None,
            None => authority,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    ok.then(|| host.to_ascii_lowercase())
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// Percent-decodes `path`, resolves `.` and `..`, merges slashes.
pub fn normalize(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let b = u8::from_str_radix(hex, 16).ok()?;
            // An encoded slash or backslash means something else to every
            // upstream; refuse rather than guess.
            if b == b'/' || b == b'\\' {
                return None;
            }
            decoded.push(b);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(decoded).ok()?;
    if text.contains('\\') || text.chars().any(char::is_control) {
        return None;
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in text.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let trailing = text.ends_with('/') || text.ends_with("/.") || text.ends_with("/..");
    let mut p = format!("/{}", out.join("/"));
    if trailing && p.len() > 1 {
        p.push('/');
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths_normalise_as_an_upstream_sees_them() {
        assert_eq!(normalize("/a/../admin").unwrap(), "/admin");
        assert_eq!(normalize("//admin/./x/").unwrap(), "/admin/x/");
        assert_eq!(normalize("/%61dmin").unwrap(), "/admin");
        assert_eq!(normalize("/%2e%2e/admin").unwrap(), "/admin");
        assert!(normalize("/a%2fb").is_none());
        assert!(normalize("/a\\b").is_none());
        assert!(normalize("/a%00").is_none());
        assert!(normalize("/%zz").is_none());
    }

    #[test]
    fn hosts_are_plain_names() {
        assert_eq!(host_of("App.Example.com:8443").unwrap(), "app.example.com");
        assert_eq!(host_of("[::1]:80").unwrap(), "[::1]");
        assert!(host_of("user@evil.com").is_none());
        assert!(host_of("evil.com\\@a.com").is_none());
        assert!(host_of("a b").is_none());
        assert!(host_of("").is_none());
    }
}
