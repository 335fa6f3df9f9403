#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::io::Write as _;

use secrecy::ExposeSecret as _;

use super::*;

fn file(toml: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(toml.as_bytes()).unwrap();
    f
}

fn load_toml(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let f = file(toml);
    let env = env
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    load(Some(f.path()), env, &Overrides::default())
}

#[test]
fn a_provider_table_gets_the_documented_defaults() {
    let c = load_toml(
        "[oidc.providers.acme]\nissuer = \"https://idp.example.com\"\nclient_id = \"latchkey\"\n\
         client_secret_env = \"ACME_SECRET\"\n",
        &[("ACME_SECRET", "s3cret\n")],
    )
    .unwrap();
    let p = &c.http.oidc_providers[0];
    assert_eq!(p.name, "acme");
    assert_eq!(p.display_name, "acme");
    assert_eq!(p.scopes, ["openid", "email", "profile"]);
    assert_eq!(
        (p.username_claim.as_str(), p.email_claim.as_str()),
        ("preferred_username", "email")
    );
    assert_eq!(
        p.client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        Some("s3cret".into())
    );
}

#[test]
fn every_provider_key_is_read_and_the_secret_may_come_from_a_file_or_the_environment() {
    let secret = file("from-a-file\n");
    let toml = format!(
        "[oidc.providers.corp]\nissuer = \"https://sso.example.com\"\nclient_id = \"c\"\n\
         client_secret_file = \"{}\"\ndisplay_name = \"Corp SSO\"\nscopes = [\"openid\", \"email\"]\n\
         claims.username = \"nickname\"\nclaims.email = \"mail\"\n",
        secret.path().display()
    );
    let c = load_toml(&toml, &[]).unwrap();
    let p = &c.http.oidc_providers[0];
    assert_eq!(p.display_name, "Corp SSO");
    assert_eq!(p.scopes, ["openid", "email"]);
    assert_eq!(
        (p.username_claim.as_str(), p.email_claim.as_str()),
        ("nickname", "mail")
    );
    assert_eq!(
        p.client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        Some("from-a-file".into())
    );
    // LATCHKEY_OIDC__PROVIDERS__NAME__CLIENT_SECRET, as the contract says.
    let c = load_toml(
        "[oidc.providers.acme]\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\n",
        &[("LATCHKEY_OIDC__PROVIDERS__ACME__CLIENT_SECRET", "from-env")],
    )
    .unwrap();
    let p = &c.http.oidc_providers[0];
    assert_eq!(
        p.client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        Some("from-env".into())
    );
}

#[test]
fn provider_problems_are_reported_one_line_each() {
    let e = load_toml(
        "[oidc.providers.Bad]\nissuer = \"https://a\"\nclient_id = \"c\"\n\
         [oidc.providers.acme]\nissuer = \"ftp://idp\"\nclient_secret = \"a\"\nclient_secret_env = \"X\"\n\
         scopes = [\"email\"]\ncolour = \"red\"\n",
        &[],
    )
    .unwrap_err();
    let text = e.to_string();
    for expected in [
        "`oidc.providers.Bad`: names are 1-64 of a-z 0-9 - _",
        "`oidc.providers.acme.issuer`: expected an https:// URL",
        "`oidc.providers.acme.client_id` is required",
        "`oidc.providers.acme.client_secret_env`: $X is not set",
        "give at most one of client_secret, client_secret_file, client_secret_env",
        "`oidc.providers.acme.scopes` must include \"openid\"",
        "unknown key `oidc.providers.acme.colour`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    // A secret value never appears in an error.
    assert!(!text.contains("client_secret = \"a\""));
}
