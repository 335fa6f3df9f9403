#![allow(clippy::unwrap_used, clippy::expect_used)]
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
    let e = env(&[
        ("LATCHKEY_TYPO", "1"),
        ("LATCHKEY_LOGIN_LIMITS__WINDOW", "never"),
    ]);
    let errs = load(Some(f.path()), e, &Overrides::default())
        .unwrap_err()
        .0;
    let all = errs.join("\n");
    for needle in [
        "unknown key `listen_port`",
        "`login_limits.window` (from LATCHKEY_LOGIN_LIMITS__WINDOW): expected a duration",
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
    let bad = file("[bff.apis.x]\ntimeout_ms = 0\ncolour = 1\n[bff.apis.y]\nurl = \"ftp://h\"\n");
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

#[test]
fn webauthn_keys_are_checked_against_the_issuer_one_line_each() {
    let good = file(
        "issuer = \"https://auth.example.com\"\n[webauthn]\nrp_id = \"example.com\"\n\
         origins = [\"https://example.com\", \"https://login.example.com\"]\n",
    );
    let c = load(Some(good.path()), HashMap::new(), &Overrides::default()).unwrap();
    assert_eq!(c.http.passkeys.rp_id.as_deref(), Some("example.com"));
    assert_eq!(c.http.passkeys.origins.len(), 2);
    let bad = file(
        "issuer = \"https://auth.example.com\"\n[webauthn]\nrp_id = \"example.com\"\n\
         origins = [\"https://evil.test\", \"http://app.example.com\"]\n",
    );
    let e = load(Some(bad.path()), HashMap::new(), &Overrides::default()).unwrap_err();
    let lines: Vec<_> =
        e.0.iter()
            .filter(|l| l.contains("webauthn.origins"))
            .collect();
    assert_eq!(lines.len(), 2, "{e}");
    let ip = env(&[("LATCHKEY_WEBAUTHN__RP_ID", "10.0.0.1")]);
    let e = load(None, ip, &Overrides::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("`webauthn.rp_id` must be a domain name"),
        "{e}"
    );
}

/// Kubernetes sets `LATCHKEY_PORT` and `LATCHKEY_SERVICE_HOST` for a
/// Service named `latchkey`; test suites set `LATCHKEY_TEST_*`. None of
/// them may stop start-up: they are ignored and named for one warning.
#[test]
fn i16_variables_that_are_not_configuration_are_ignored_and_named() {
    let e = env(&[
        ("LATCHKEY_PORT", "tcp://10.0.0.7:8080"),
        ("LATCHKEY_SERVICE_HOST", "10.0.0.7"),
        ("LATCHKEY_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
        ("LATCHKEY_SESIONS__IDLE_TIMEOUT", "5m"),
        ("LATCHKEY_SESSIONS__ABSOLUTE_TIMEOUT", "1d"),
    ]);
    let c = load(None, e, &Overrides::default()).unwrap();
    assert_eq!(c.http.sessions.absolute_timeout, Duration::from_secs(86400));
    assert_eq!(
        c.ignored_env,
        [
            "LATCHKEY_PORT",
            "LATCHKEY_SERVICE_HOST",
            "LATCHKEY_SESIONS__IDLE_TIMEOUT (did you mean LATCHKEY_SESSIONS__IDLE_TIMEOUT?)",
            "LATCHKEY_TEST_REDIS_URL",
        ]
    );
}

#[test]
fn i16_a_misspelt_key_in_the_file_suggests_the_key_meant() {
    let f = file("[sessions]\nidle_timout = \"5m\"\n");
    let errs = load(Some(f.path()), HashMap::new(), &Overrides::default()).unwrap_err();
    assert_eq!(
        errs.0,
        ["unknown key `sessions.idle_timout` (did you mean `sessions.idle_timeout`?)"]
    );
    assert!(
        errs.to_string()
            .starts_with("invalid configuration (1 problem):"),
        "{errs}"
    );
}

#[test]
fn i16_every_bad_item_of_a_list_is_reported() {
    let f = file(
        "trusted_proxies = [\"nope\", \"10.0.0.1\", \"10.0.0.0/99\"]\n\
         [cors]\nallowed_origins = [\"https://a.example\", \"*\", \"https://b.example/x\"]\n",
    );
    let errs = load(Some(f.path()), HashMap::new(), &Overrides::default())
        .unwrap_err()
        .0;
    let all = errs.join("\n");
    for needle in ["`nope`", "`10.0.0.0/99`", "`*`", "`https://b.example/x`"] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    assert_eq!(errs.len(), 4, "{all}");
}

#[test]
fn i16_an_idle_timeout_longer_than_the_absolute_one_is_refused() {
    let e = env(&[
        ("LATCHKEY_SESSIONS__IDLE_TIMEOUT", "2d"),
        ("LATCHKEY_SESSIONS__ABSOLUTE_TIMEOUT", "1d"),
    ]);
    let errs = load(None, e, &Overrides::default()).unwrap_err().0;
    assert_eq!(
        errs,
        ["`sessions.idle_timeout` must not be longer than `sessions.absolute_timeout`"]
    );
}

#[test]
fn i16_a_bad_bff_url_is_reported_as_bad_not_also_as_missing() {
    let f = file("[bff.apis.orders]\nurl = \"ftp://x\"\n");
    let errs = load(Some(f.path()), HashMap::new(), &Overrides::default())
        .unwrap_err()
        .0;
    assert_eq!(
        errs,
        ["`bff.apis.orders.url`: expected an http://host:port URL"]
    );
}

#[test]
fn i16_a_bad_log_filter_is_a_configuration_problem_reported_with_the_others() {
    let e = env(&[
        ("LATCHKEY_LOG", "latchkey=loud"),
        ("LATCHKEY_LISTEN", "nope"),
    ]);
    let errs = load(None, e, &Overrides::default()).unwrap_err().0;
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[1].starts_with("`log` (from LATCHKEY_LOG): expected a log filter"),
        "{errs:?}"
    );
}
