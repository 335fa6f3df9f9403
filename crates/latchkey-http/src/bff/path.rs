//! The upstream URI of a proxied request.
//!
//! **Invariant:** the forwarded path is the API's base path followed by
//! exactly the segments the client sent, none of which any upstream can
//! read as a step up or a separator. Each segment is percent-decoded once
//! and refused (`400 invalid_path`) if it is `.` or `..`, or holds `/`,
//! `\`, `;` (path parameters: `..;/`), a control character (NUL), a
//! malformed escape, or an escape still after decoding (double encoding:
//! `%252e`). Segments that pass are forwarded as sent.

use axum::http::Uri;

use crate::error::ApiError;
use crate::state::BffApi;

fn invalid(detail: &str) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_path",
        detail: detail.into(),
    }
}

/// The upstream URI for the raw path after `/bff/{api}`.
pub(super) fn upstream_uri(api: &BffApi, rest: &str, query: Option<&str>) -> Result<Uri, ApiError> {
    let rest = rest.trim_start_matches('/');
    for segment in rest.split('/') {
        check_segment(segment)?;
    }
    let base = api.url.to_string();
    let base = base.trim_end_matches('/');
    let uri = match query {
        Some(q) => format!("{base}/{rest}?{q}"),
        None => format!("{base}/{rest}"),
    };
    uri.parse()
        .map_err(|_| invalid("The path is not a valid URI path."))
}

fn check_segment(raw: &str) -> Result<(), ApiError> {
    let decoded =
        decode_once(raw.as_bytes()).ok_or_else(|| invalid("The path has a malformed escape."))?;
    if decoded == b"." || decoded == b".." {
        return Err(invalid("The path may not contain dot segments."));
    }
    let forbidden = raw.contains(';')
        || decoded
            .iter()
            .any(|b| matches!(b, b'/' | b'\\' | b';') || b.is_ascii_control());
    if forbidden {
        return Err(invalid(
            "A path segment may not contain /, \\, ; or control characters, encoded or not.",
        ));
    }
    if decode_once(&decoded).is_some_and(|twice| twice != decoded) {
        return Err(invalid("The path may not be percent-encoded twice."));
    }
    Ok(())
}

/// `raw` with each `%XX` replaced by its byte; `None` for a `%` not
/// followed by two hex digits.
fn decode_once(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(url: &str) -> BffApi {
        BffApi {
            name: "orders".into(),
            url: url.parse().unwrap_or_default(),
            timeout: std::time::Duration::from_secs(1),
            audience: "orders".into(),
            max_body_bytes: 10,
            forward_cookies: false,
            pass_set_cookie: false,
            groups_claim: false,
        }
    }

    #[test]
    fn paths_and_queries_are_kept_and_dot_segments_refused() {
        let a = api("http://127.0.0.1:9000/base");
        let u = upstream_uri(&a, "items/42%20x/100%25", Some("q=1&r=%2F"));
        assert_eq!(
            u.map(|u| u.to_string()).ok().as_deref(),
            Some("http://127.0.0.1:9000/base/items/42%20x/100%25?q=1&r=%2F")
        );
        for bad in [
            "../admin",
            "a/../../b",
            "%2e%2e/x",
            "a/./b",
            "a\\b",
            "..;/x",
            "a;b=1",
            "..%2Fx",
            "..%5cx",
            "%252e%252e/x",
            "a%00b",
            "a%zzb",
            "a%2",
            "%3b",
        ] {
            assert!(upstream_uri(&a, bad, None).is_err(), "{bad}");
        }
    }
}
