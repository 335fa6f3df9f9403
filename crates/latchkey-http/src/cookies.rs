//! latchkey's cookies: names, attributes, reading and clearing.
//!
//! Secure defaults (RFC 6265bis): `__Host-` prefix, `HttpOnly`, `Secure`,
//! `SameSite=Strict`, `Path=/`, no `Domain`. With `cookies.secure = false`
//! the prefix is dropped (browsers refuse prefixed cookies without
//! `Secure`); everything else stays.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite as CookieSameSite};

use crate::error::ApiError;
use crate::state::{SameSite, Settings};

/// The session cookie's name under `settings`.
pub fn session_cookie_name(settings: &Settings) -> &'static str {
    if settings.cookie_secure {
        "__Host-lk_session"
    } else {
        "lk_session"
    }
}

/// The hybrid's access-token cookie (sent everywhere on the site).
pub fn access_cookie_name(settings: &Settings) -> &'static str {
    if settings.cookie_secure {
        "__Host-lk_at"
    } else {
        "lk_at"
    }
}

/// The hybrid's refresh-token cookie: `__Secure-` (it has a `Path`, which
/// `__Host-` forbids), sent only to [`REFRESH_COOKIE_PATH`].
pub fn refresh_cookie_name(settings: &Settings) -> &'static str {
    if settings.cookie_secure {
        "__Secure-lk_rt"
    } else {
        "lk_rt"
    }
}

/// Where the refresh cookie is sent: the hybrid's own endpoints only.
pub const REFRESH_COOKIE_PATH: &str = "/v1/cookie";

/// The value of cookie `name` in the request's `Cookie` headers; `None`
/// if it was not sent.
///
/// A cookie sent more than once is refused (`400 duplicate_cookie`), never
/// resolved: a sibling subdomain can plant a same-named cookie with a
/// `Domain` and a longer `Path`, which browsers then send *first*, and
/// nothing in the header says which of the two is ours.
pub fn read(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, ApiError> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned());
    let first = found.next();
    if found.next().is_some() {
        return Err(ApiError::BadRequest {
            code: "duplicate_cookie",
            detail: format!("The cookie {name} was sent more than once."),
        });
    }
    Ok(first)
}

/// `Set-Cookie` for a cookie at `path`; `max_age: None` makes a
/// browser-session cookie.
pub fn set(
    settings: &Settings,
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: Option<Duration>,
) -> HeaderValue {
    let mut c = Cookie::build((name, value))
        .http_only(true)
        .secure(settings.cookie_secure)
        .same_site(match settings.same_site {
            SameSite::Strict => CookieSameSite::Strict,
            SameSite::Lax => CookieSameSite::Lax,
        })
        .path(path)
        .build();
    if let Some(age) = max_age {
        let secs = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        c.set_max_age(cookie::time::Duration::seconds(secs));
    }
    header_value(&c)
}

/// `Set-Cookie` that removes the cookie (`Max-Age=0`, empty value).
pub fn clear(settings: &Settings, name: &'static str, path: &'static str) -> HeaderValue {
    set(settings, name, String::new(), path, Some(Duration::ZERO))
}

fn header_value(c: &Cookie<'_>) -> HeaderValue {
    // Names and values we build are plain ASCII; a value that somehow is
    // not becomes an empty cookie rather than a panic.
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_defaults() {
        let s = Settings::default();
        let v = set(&s, session_cookie_name(&s), "abc".into(), "/", None);
        let v = v.to_str().unwrap_or_default();
        assert_eq!(
            v,
            "__Host-lk_session=abc; HttpOnly; SameSite=Strict; Secure; Path=/"
        );
    }

    #[test]
    fn remembered_cookie_has_max_age_and_clear_has_zero() {
        let s = Settings::default();
        let v = set(&s, "n", "v".into(), "/", Some(Duration::from_secs(90)));
        assert!(v.to_str().unwrap_or_default().contains("Max-Age=90"));
        let c = clear(&s, "n", "/");
        assert!(c.to_str().unwrap_or_default().contains("Max-Age=0"));
    }

    #[test]
    fn reads_from_several_cookie_headers() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        h.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(read(&h, "b").ok().flatten().as_deref(), Some("2"));
        assert_eq!(read(&h, "c").ok().flatten().as_deref(), Some("3"));
        assert_eq!(read(&h, "d").ok().flatten(), None);
    }

    #[test]
    fn i9_12_a_cookie_sent_twice_is_refused() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; b=2; a=1"));
        h.append(header::COOKIE, HeaderValue::from_static("c=3"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        for name in ["a", "b"] {
            let refused = read(&h, name);
            assert!(
                matches!(
                    refused,
                    Err(ApiError::BadRequest {
                        code: "duplicate_cookie",
                        ..
                    })
                ),
                "{name}: {refused:?}"
            );
        }
        assert_eq!(read(&h, "c").ok().flatten().as_deref(), Some("3"));
    }
}
