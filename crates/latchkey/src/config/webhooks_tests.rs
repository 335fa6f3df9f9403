#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::io::Write as _;

use secrecy::ExposeSecret as _;

use super::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn load_toml(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(toml.as_bytes()).unwrap();
    let env = env
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    load(Some(f.path()), env, &Overrides::default())
}

fn problems(toml: &str) -> String {
    load_toml(toml, &[]).unwrap_err().to_string()
}

#[test]
fn a_webhook_gets_its_host_as_name_and_the_documented_delivery_defaults() {
    let c = load_toml(
        &format!(
            "[[webhooks]]\nurl = \"https://Hooks.Example.com/latchkey?t=1\"\n\
             events = [\"login.*\", \"user.disabled\"]\nsecret = \"{SECRET}\"\n\n\
             [[webhooks]]\nname = \"siem\"\nurl = \"http://127.0.0.1:9000/\"\nevents = [\"*\"]\n\
             secret_env = \"SIEM_SECRET\"\n"
        ),
        &[("SIEM_SECRET", "from-the-environment-0123456789abcdef\n")],
    )
    .unwrap();
    let w = c.webhooks.unwrap();
    let names: Vec<_> = w.hooks.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["hooks.example.com", "siem"]);
    assert_eq!(w.hooks[0].secret.expose_secret(), SECRET);
    assert_eq!(
        w.hooks[1].secret.expose_secret(),
        "from-the-environment-0123456789abcdef"
    );
    assert_eq!(w.retries, crate::outbox::Retries::DEFAULT);
    assert_eq!(w.timeout, Duration::from_secs(10));
    assert!(!format!("{w:?}").contains(SECRET), "Debug hides the secret");
    let subs = &c.http.webhooks;
    assert_eq!(subs.matching("login.failed"), ["hooks.example.com", "siem"]);
    assert_eq!(
        subs.matching("user.disabled"),
        ["hooks.example.com", "siem"]
    );
    assert_eq!(subs.matching("user.enabled"), ["siem"]);
}

#[test]
fn without_webhooks_nothing_is_queued() {
    let c = load(None, HashMap::new(), &Overrides::default()).unwrap();
    assert!(c.webhooks.is_none());
    assert!(c.http.webhooks.matching("login.succeeded").is_empty());
}

#[test]
fn every_bad_webhook_is_reported_with_a_did_you_mean() {
    let e = problems(&format!(
        "[[webhooks]]\nurl = \"https://a.example.com\"\nevents = [\"login.suceeded\", \"logn.*\", \"user.*\"]\n\
         secret = \"short\"\n\n\
         [[webhooks]]\nurl = \"ftp://b.example.com\"\nevents = []\nsecret = \"{SECRET}\"\n\
         secret_env = \"X\"\nevnts = [\"*\"]\n\n\
         [[webhooks]]\nurl = \"https://a.example.com/other\"\nevents = [\"*\"]\nsecret = \"{SECRET}\"\n\n\
         [[webhooks]]\nurl = \"https://a.example.com/again\"\nevents = [\"*\"]\nsecret = \"{SECRET}\"\n\n\
         [webhook_delivery]\nretry_initial = \"1h\"\n"
    ));
    for needle in [
        "unknown event type `login.suceeded` (did you mean `login.succeeded`?)",
        "unknown event type `logn.*` (did you mean `login.*`?)",
        "`webhooks[0].secret`: the secret must be at least 32 bytes (it has 5)",
        "`webhooks[1].url`: expected an http:// or https:// URL",
        "`webhooks[1].events` is required",
        "`webhooks[1]`: give exactly one of secret, secret_file, secret_env",
        "unknown key `webhooks[1].evnts` (did you mean `events`?)",
        "`webhooks[3]`: the name `a.example.com` is taken by another webhook; give each a `name`",
        "`webhook_delivery.retry_initial` must not exceed `webhook_delivery.retry_max`",
    ] {
        assert!(e.contains(needle), "{needle:?} missing from {e}");
    }
    assert!(!e.contains("user.*"), "a known prefix is fine: {e}");
    let e = problems(
        "[[webhooks]]\nurl = \"https://a.example.com\"\nevents = [\"*\"]\nsecret_env = \"NOPE\"\n",
    );
    assert!(
        e.contains("`webhooks[0].secret_env`: $NOPE is not set"),
        "{e}"
    );
    let e = problems("webhooks = \"https://a.example.com\"\n");
    assert!(e.contains("expected [[webhooks]] tables"), "{e}");
}
