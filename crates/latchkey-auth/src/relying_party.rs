//! Who latchkey is to WebAuthn: the relying party id (a domain) and the
//! origins whose pages may register and use passkeys. Both follow from the
//! `issuer` unless configured (`webauthn.rp_id`, `webauthn.origins`, for a
//! deployment behind a proxy whose public name differs).

use std::sync::Arc;

use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

/// `webauthn.*` as configured; empty fields derive from the issuer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PasskeySettings {
    /// The relying party id: the issuer's host, or a parent domain of it.
    pub rp_id: Option<String>,
    /// Origins (`scheme://host[:port]`) allowed in `clientDataJSON`: the
    /// issuer's origin unless configured.
    pub origins: Vec<String>,
}

impl PasskeySettings {
    /// The relying party for `issuer`, or every problem with these
    /// settings, one line each (naming the configuration key).
    pub fn relying_party(&self, issuer: &str) -> Result<Arc<Webauthn>, Vec<String>> {
        let (rp_id, origins) = self.resolve(issuer)?;
        let loopback = self.rp_id.is_none() && Url::parse(issuer).is_ok_and(|u| is_loopback(&u));
        let first = origins
            .first()
            .ok_or_else(|| vec!["`webauthn.origins` must name at least one origin".to_owned()])?;
        let mut builder = WebauthnBuilder::new(&rp_id, first)
            .map_err(|e| vec![format!("`webauthn.rp_id` `{rp_id}` refused: {e}")])?
            .rp_name("latchkey")
            // A loopback issuer's port may be one the OS picked (port 0).
            .allow_any_port(loopback);
        for origin in &origins[1..] {
            builder = builder.append_allowed_origin(origin);
        }
        builder
            .build()
            .map(Arc::new)
            .map_err(|e| vec![format!("WebAuthn relying party: {e}")])
    }

    fn resolve(&self, issuer: &str) -> Result<(String, Vec<Url>), Vec<String>> {
        let mut issuer_url = Url::parse(issuer).map_err(|_| vec![format!("issuer `{issuer}`")])?;
        // A loopback issuer (the default, http://127.0.0.1:8080) serves
        // passkeys to a browser at http://localhost (any port): WebAuthn
        // needs a domain, and browsers treat localhost as a secure context.
        if self.rp_id.is_none() && is_loopback(&issuer_url) {
            issuer_url
                .set_host(Some("localhost"))
                .map_err(|_| vec![format!("issuer `{issuer}`")])?;
        }
        let rp_id = match (&self.rp_id, issuer_url.domain()) {
            (Some(id), _) => id.to_ascii_lowercase(),
            (None, Some(host)) => host.to_ascii_lowercase(),
            (None, None) => {
                return Err(vec![format!(
                    "passkeys need a domain name: the issuer `{issuer}` has none \
                     (browsers refuse IP addresses); set `webauthn.rp_id`"
                )]);
            }
        };
        let mut problems = Vec::new();
        if rp_id.is_empty()
            || rp_id.parse::<std::net::IpAddr>().is_ok()
            || rp_id.contains(['/', ':'])
        {
            problems.push(format!(
                "`webauthn.rp_id` must be a domain name (browsers refuse IP addresses), not `{rp_id}`"
            ));
        }
        let named: Vec<String> = if self.origins.is_empty() {
            vec![issuer_url.origin().ascii_serialization()]
        } else {
            self.origins.clone()
        };
        let origins: Vec<Url> = named
            .iter()
            .filter_map(|o| match origin_problem(o, &rp_id) {
                Ok(url) => Some(url),
                Err(p) => {
                    problems.push(p);
                    None
                }
            })
            .collect();
        if problems.is_empty() {
            Ok((rp_id, origins))
        } else {
            Err(problems)
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    url.host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

/// `origin` as a URL, or why it cannot be one of `rp_id`'s origins.
fn origin_problem(origin: &str, rp_id: &str) -> Result<Url, String> {
    let bad = |why: &str| format!("`webauthn.origins`: `{origin}` {why}");
    let url = Url::parse(origin).map_err(|_| bad("is not a URL"))?;
    if !matches!(url.scheme(), "https" | "http") || url.path() != "/" || url.query().is_some() {
        return Err(bad("must be scheme://host[:port], http(s), with no path"));
    }
    let host = url.domain().ok_or_else(|| bad("must name a domain"))?;
    if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
        return Err(bad(&format!(
            "is not on `{rp_id}` (the rp_id) or a subdomain of it"
        )));
    }
    if url.scheme() == "http" && host != "localhost" && !host.ends_with(".localhost") {
        return Err(bad("must be https (browsers allow http on localhost only)"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(rp_id: Option<&str>, origins: &[&str]) -> PasskeySettings {
        PasskeySettings {
            rp_id: rp_id.map(str::to_owned),
            origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        }
    }

    #[test]
    fn rp_id_and_origin_follow_from_the_issuer() {
        assert!(
            PasskeySettings::default()
                .relying_party("https://auth.example.com/")
                .is_ok()
        );
        assert!(
            PasskeySettings::default()
                .relying_party("http://localhost:8080")
                .is_ok()
        );
    }

    #[test]
    fn an_ip_issuer_needs_a_configured_rp_id() {
        let e = PasskeySettings::default()
            .relying_party("http://192.0.2.1:8080")
            .unwrap_err();
        assert!(e[0].contains("webauthn.rp_id"), "{e:?}");
    }

    #[test]
    fn a_loopback_issuer_serves_localhost() {
        let s = PasskeySettings::default();
        let (rp_id, origins) = s.resolve("http://127.0.0.1:8080").unwrap();
        assert_eq!(rp_id, "localhost");
        assert_eq!(origins[0].as_str(), "http://localhost:8080/");
        assert!(s.relying_party("http://[::1]:9000").is_ok());
    }

    #[test]
    fn behind_a_proxy_the_configured_names_win() {
        let s = settings(Some("example.com"), &["https://login.example.com"]);
        assert!(s.relying_party("http://127.0.0.1:8080").is_ok());
    }

    #[test]
    fn each_bad_value_is_one_line() {
        let s = settings(
            Some("example.com"),
            &["https://evil.test", "http://app.example.com", "nope"],
        );
        let e = s.relying_party("https://example.com").unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        let ip = settings(Some("10.0.0.1"), &[]);
        assert!(ip.relying_party("https://example.com").is_err());
    }
}
