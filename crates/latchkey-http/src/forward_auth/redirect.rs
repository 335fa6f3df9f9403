//! `rd`: where a browser goes after signing in (or out) when a proxy sent
//! it to `/login?rd=<original URL>`.
//!
//! **Invariant:** never an open redirect. `rd` is followed only when it is
//! an absolute `http(s)://` URL, with no userinfo, backslash, whitespace or
//! control character, whose host is one of `allowed_redirect_domains` or a
//! subdomain of one; anything else is ignored (the user lands on
//! `/account`).

use super::original::host_of;

/// The longest `rd` accepted.
pub const MAX_RD_LEN: usize = 2048;

/// `rd` when it is safe to send a browser to, else `None`.
pub fn safe_redirect(rd: &str, allowed: &[String]) -> Option<String> {
    if rd.len() > MAX_RD_LEN
        || rd
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    let (scheme, rest) = rd.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return None;
    }
    let host = host_of(authority)?;
    let allowed_host = allowed.iter().any(|d| {
        let d = d.trim_start_matches('.').to_ascii_lowercase();
        host == d
            || host
                .strip_suffix(d.as_str())
                .is_some_and(|h| h.ends_with('.'))
    });
    allowed_host.then(|| rd.to_owned())
}

/// Percent-encodes `s` for a query value (everything but unreserved
/// characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(rd: &str) -> bool {
        safe_redirect(rd, &["example.com".into(), "app.test".into()]).is_some()
    }

    #[test]
    fn only_listed_domains_and_their_subdomains() {
        assert!(ok("https://example.com/x"));
        assert!(ok("https://app.example.com/x?y=1#z"));
        assert!(ok("http://APP.test:8443/"));
        assert!(ok("https://a.b.example.com"));
        for bad in [
            "https://evil.com/",
            "https://notexample.com/",
            "https://example.com.evil.com/",
            "//evil.com/x",
            "/relative",
            "https://evil.com@example.com/",
            "https://example.com@evil.com/",
            "https://user:pw@example.com/",
            "https://evil.com\\@example.com/",
            "https:\\\\evil.com",
            "https:/\\evil.com",
            "javascript:alert(1)//example.com",
            "JAVASCRIPT://example.com/%0aalert(1)",
            "data:text/html,x",
            "https://example.com /x",
            "https://example.com\t/x",
            "ftp://example.com/",
            "https://exa mple.com/",
            "",
        ] {
            assert!(!ok(bad), "{bad:?} must be refused");
        }
    }
}
