//! Forward auth as a gate (issue 15): only trusted proxies may ask, the
//! access rules and `default_policy` decide, the upstream learns the
//! user's name and groups, and a browser without a credential is sent to
//! the sign-in page with `rd`.

use std::collections::HashMap;

use latchkey::config::{self, Overrides};
use latchkey_core::UserId;
use latchkey_http::forward_auth::ProxySecret;
use latchkey_http::forward_auth::rules::{Policy, RuleSpec, Rules};
use reqwest::{RequestBuilder, StatusCode};

use crate::helpers::{PASSWORD, Reply, RequestExt as _, TestApp, assert_problem, jwt_claims};

fn rule(hosts: &[&str], paths: &[&str], policy: &str) -> RuleSpec {
    RuleSpec {
        hosts: hosts.iter().map(|s| (*s).to_owned()).collect(),
        paths: paths.iter().map(|s| (*s).to_owned()).collect(),
        policy: Some(policy.into()),
        ..RuleSpec::default()
    }
}

/// A server behind a trusted proxy (the test client), with these rules.
async fn gate(specs: Vec<RuleSpec>, default_policy: Policy) -> TestApp {
    TestApp::spawn_with(move |cfg| {
        cfg.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        cfg.http.forward_auth.rules = Rules::new(&specs, default_policy).unwrap();
        cfg.http.forward_auth.allowed_redirect_domains = vec!["example.com".into()];
        cfg.http.public_origin = Some("https://auth.example.com".into());
    })
    .await
}

/// `/v1/verify` about `METHOD url`, as nginx asks (`X-Original-URL`).
fn ask(app: &TestApp, method: &str, url: &str) -> RequestBuilder {
    app.get("/v1/verify")
        .header("x-original-url", url)
        .header("x-original-method", method)
}

async fn join(app: &TestApp, user: &str, group: &str) {
    let id = UserId::parse(user).unwrap();
    app.state.store().add_to_group(id, group).await.unwrap();
}

fn allowed(r: &Reply) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn a_peer_that_is_not_a_trusted_proxy_is_refused() {
    // Out of the box no peer is trusted: a page's script reaching
    // /v1/verify through a catch-all proxy location gets no token.
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let r = app.send(app.get("/v1/verify").cookie_of(&alice)).await;
    assert_problem(&r, 403, "untrusted_proxy");
    assert!(r.header("authorization").is_none());
    // Trusted, with a shared secret configured: the secret is required.
    let app = TestApp::spawn_with(|cfg| {
        crate::forward_auth::behind_proxy(cfg);
        cfg.http.forward_auth.proxy_secret = Some(ProxySecret("a-long-shared-proxy-secret".into()));
    })
    .await;
    let alice = app.user("alice").await;
    let base = || app.get("/v1/verify").cookie_of(&alice);
    assert_problem(&app.send(base()).await, 403, "untrusted_proxy");
    let wrong = base().header("x-latchkey-proxy-secret", "a-long-shared-proxy-secreT");
    assert_problem(&app.send(wrong).await, 403, "untrusted_proxy");
    let twice = base()
        .header("x-latchkey-proxy-secret", "a-long-shared-proxy-secret")
        .header("x-latchkey-proxy-secret", "a-long-shared-proxy-secret");
    assert_problem(&app.send(twice).await, 403, "untrusted_proxy");
    let right = base().header("x-latchkey-proxy-secret", "a-long-shared-proxy-secret");
    allowed(&app.send(right).await);
}

#[tokio::test]
async fn the_default_policy_is_deny_for_everyone() {
    let app = gate(Vec::new(), Policy::default()).await;
    let alice = app.user("alice").await;
    let url = "https://app.example.com/orders";
    assert_problem(&app.send(ask(&app, "GET", url)).await, 403, "access_denied");
    let r = app.send(ask(&app, "GET", url).cookie_of(&alice)).await;
    assert_problem(&r, 403, "access_denied");
    assert!(r.header("authorization").is_none());
}

/// Five rules, alice in `admins`, bob not; `as_` asks as a user.
async fn ruled() -> (TestApp, crate::helpers::Login, crate::helpers::Login) {
    let app = gate(
        vec![
            rule(&["app.example.com"], &["/public"], "deny"),
            RuleSpec {
                groups: vec!["admins".into()],
                ..rule(&["*.example.com"], &["/admin"], "signed_in")
            },
            RuleSpec {
                users: vec!["bob".into()],
                methods: vec!["POST".into()],
                ..rule(&[], &["regex:^/api/v[0-9]+/"], "signed_in")
            },
            rule(&["secure.example.com"], &[], "two_factor"),
            rule(&["app.example.com"], &[], "signed_in"),
        ],
        Policy::Deny,
    )
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    join(&app, &alice.user_id, "admins").await;
    (app, alice, bob)
}

fn as_(app: &TestApp, who: &crate::helpers::Login, m: &str, url: &str) -> RequestBuilder {
    ask(app, m, url).cookie_of(who).csrf_of(who)
}

#[tokio::test]
async fn the_first_matching_rule_decides_on_groups_hosts_and_paths() {
    let (app, alice, bob) = ruled().await;
    // Groups: alice is an admin, bob is not; the rule covers subdomains
    // and the path's segments, not /administrator, nor the bare domain.
    allowed(
        &app.send(as_(&app, &alice, "GET", "https://app.example.com/admin/x"))
            .await,
    );
    allowed(
        &app.send(as_(&app, &alice, "GET", "https://a.b.example.com/admin"))
            .await,
    );
    let r = app
        .send(as_(&app, &bob, "GET", "https://app.example.com/admin/x"))
        .await;
    assert_problem(&r, 403, "access_denied");
    allowed(
        &app.send(as_(
            &app,
            &bob,
            "GET",
            "https://app.example.com/administrator",
        ))
        .await,
    );
    let r = app
        .send(as_(&app, &alice, "GET", "https://example.com/admin"))
        .await;
    assert_problem(&r, 403, "access_denied");
    // The path is read as the upstream will see it.
    for sneaky in ["/x/../admin", "//admin", "/%61dmin/", "/./admin"] {
        let url = format!("https://app.example.com{sneaky}");
        let r = app.send(as_(&app, &bob, "GET", &url)).await;
        assert_problem(&r, 403, "access_denied");
    }
    let r = app
        .send(as_(&app, &bob, "GET", "https://app.example.com/a%2fadmin"))
        .await;
    assert_problem(&r, 400, "invalid_request");
}

#[tokio::test]
async fn the_first_matching_rule_decides_on_deny_users_methods_and_factors() {
    let (app, alice, bob) = ruled().await;
    // Deny comes first and holds whoever asks.
    let r = app
        .send(as_(&app, &alice, "GET", "https://app.example.com/public/x"))
        .await;
    assert_problem(&r, 403, "access_denied");
    // Users and methods with a regex path.
    allowed(
        &app.send(as_(&app, &bob, "POST", "https://x.test/api/v2/orders"))
            .await,
    );
    let r = app
        .send(as_(&app, &alice, "POST", "https://x.test/api/v2/orders"))
        .await;
    assert_problem(&r, 403, "access_denied");
    let r = app
        .send(as_(&app, &bob, "GET", "https://x.test/api/v2/orders"))
        .await;
    assert_problem(&r, 403, "access_denied");
    // two_factor: a password alone is not enough.
    let r = app
        .send(as_(&app, &alice, "GET", "https://secure.example.com/"))
        .await;
    assert_problem(&r, 403, "access_denied");
}

#[tokio::test]
async fn two_factor_lets_a_second_factor_through() {
    let app = gate(vec![rule(&[], &[], "two_factor")], Policy::Deny).await;
    let (_, totp) = app.mfa_user("alice").await;
    let r = app
        .send(app.login_request("alice", PASSWORD, Some(false)))
        .await;
    let token = crate::mfa_helpers::mfa_token_of(&r);
    let r = app.verify(&token, &app.fresh_code(&totp)).await;
    let login = app.login_from(&r);
    allowed(
        &app.send(ask(&app, "GET", "https://app.example.com/").cookie_of(&login))
            .await,
    );
}

#[tokio::test]
async fn the_upstream_learns_the_username_and_groups() {
    let app = gate(vec![rule(&[], &[], "signed_in")], Policy::Deny).await;
    let alice = app.user("alice").await;
    join(&app, &alice.user_id, "ops").await;
    join(&app, &alice.user_id, "admins").await;
    let r = app
        .send(ask(&app, "GET", "https://app.example.com/").cookie_of(&alice))
        .await;
    allowed(&r);
    assert_eq!(r.header("x-latchkey-user"), Some(alice.user_id.as_str()));
    assert_eq!(r.header("x-latchkey-username"), Some("alice"));
    assert_eq!(r.header("x-latchkey-groups"), Some("admins,ops"));
    let token = r
        .header("authorization")
        .unwrap()
        .trim_start_matches("Bearer ");
    assert_eq!(
        jwt_claims(token)["groups"],
        serde_json::json!(["admins", "ops"])
    );
}

#[tokio::test]
async fn without_a_credential_the_proxy_is_told_where_to_sign_in() {
    let app = gate(vec![rule(&[], &[], "signed_in")], Policy::Deny).await;
    let login = "https://auth.example.com/login".to_owned();
    // An allowed host: Location carries rd, for nginx's error_page.
    let url = "https://app.example.com/orders?id=7&x=1";
    let r = app.send(ask(&app, "GET", url)).await;
    assert_problem(&r, 401, "unauthenticated");
    let expected = format!("{login}?rd=https%3A%2F%2Fapp.example.com%2Forders%3Fid%3D7%26x%3D1");
    assert_eq!(r.header("location"), Some(expected.as_str()));
    // A host outside allowed_redirect_domains: the page, without rd.
    let r = app.send(ask(&app, "GET", "https://evil.test/x")).await;
    assert_eq!(r.header("location"), Some(login.as_str()));
    // mode=redirect (Traefik, Caddy): a browser navigation gets a 302,
    // a script's fetch keeps its 401.
    let redirect = || {
        app.get("/v1/verify?mode=redirect")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "app.example.com")
            .header("x-forwarded-uri", "/orders")
    };
    let r = app
        .send(redirect().header("sec-fetch-mode", "navigate"))
        .await;
    assert_eq!(r.status, StatusCode::FOUND);
    let expected = format!("{login}?rd=https%3A%2F%2Fapp.example.com%2Forders");
    assert_eq!(r.header("location"), Some(expected.as_str()));
    let r = app.send(redirect().header("accept", "text/html")).await;
    assert_eq!(r.status, StatusCode::FOUND);
    let r = app.send(redirect().header("sec-fetch-mode", "cors")).await;
    assert_problem(&r, 401, "unauthenticated");
}

/// `config::load` with this TOML: the problems it reports, if any.
fn problems(toml: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latchkey.toml");
    std::fs::write(&file, toml).unwrap();
    match config::load(Some(&file), HashMap::new(), &Overrides::default()) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    }
}

#[test]
fn rules_are_validated_at_start() {
    let good = r#"
trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
[forward_auth]
default_policy = "signed_in"
allowed_redirect_domains = ["example.com"]
[[forward_auth.rules]]
hosts = ["admin.example.com", "*.internal.example.com"]
paths = ["/admin", "regex:^/api/v[0-9]+/"]
methods = ["GET", "post"]
policy = "two_factor"
groups = ["admins"]
"#;
    assert_eq!(problems(good), Vec::<String>::new());
    for (bad, expect) in [
        (
            "[forward_auth]\ndefault_policy = \"allow\"\n",
            "unknown policy",
        ),
        (
            "[[forward_auth.rules]]\npolicy = \"maybe\"\n",
            "unknown policy",
        ),
        (
            "[[forward_auth.rules]]\nhosts = [\"*\"]\npolicy = \"deny\"\n",
            "host",
        ),
        (
            "[[forward_auth.rules]]\npaths = [\"admin\"]\npolicy = \"deny\"\n",
            "path",
        ),
        (
            "[[forward_auth.rules]]\npaths = [\"regex:(\"]\npolicy = \"deny\"\n",
            "regex",
        ),
        (
            "[[forward_auth.rules]]\nhosts = [\"a.test\"]\n",
            "`policy` is required",
        ),
        (
            "[[forward_auth.rules]]\npolicy = \"deny\"\ngroups = [\"x\"]\n",
            "never",
        ),
        (
            "[[forward_auth.rules]]\npolicy = \"deny\"\ncolour = \"red\"\n",
            "unknown field",
        ),
        (
            "[forward_auth]\nallowed_redirect_domains = [\"https://x.test\"]\n",
            "domain",
        ),
        ("[forward_auth]\nproxy_secret = \"short\"\n", "16"),
    ] {
        let found = problems(bad);
        assert!(
            found.iter().any(|p| p.contains(expect)),
            "{bad:?}: expected {expect:?} in {found:?}"
        );
    }
}

#[tokio::test]
async fn a_websocket_from_another_origin_cannot_ride_the_cookie() {
    let app = gate(vec![rule(&[], &[], "signed_in")], Policy::Deny).await;
    let alice = app.user("alice").await;
    let url = "https://app.example.com/ws";
    let handshake = |origin: &str| {
        ask(&app, "GET", url)
            .cookie_of(&alice)
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("origin", origin)
    };
    let r = app.send(handshake("https://sibling.example.com")).await;
    assert_problem(&r, 403, "csrf_failed");
    assert!(r.header("authorization").is_none());
    allowed(&app.send(handshake("https://app.example.com")).await);
    allowed(&app.send(handshake("https://auth.example.com")).await);
    // A bearer token is no ambient credential: any origin.
    let pair = app.token_user("bob").await;
    let r = app
        .send(
            ask(&app, "GET", url)
                .bearer(&pair.access)
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .header("origin", "https://sibling.example.com"),
        )
        .await;
    allowed(&r);
    // A plain navigation from another site is not a handshake.
    let r = app
        .send(
            ask(&app, "GET", url)
                .cookie_of(&alice)
                .header("origin", "https://sibling.example.com"),
        )
        .await;
    allowed(&r);
}

#[tokio::test]
async fn a_bff_api_gets_a_groups_claim_only_when_configured() {
    let bff = crate::bff::Bff::spawn_with(|cfg| {
        for api in &mut cfg.http.bff_apis {
            api.groups_claim = api.name == "other";
        }
    })
    .await;
    let app = &bff.app;
    let alice = app.user("alice").await;
    join(app, &alice.user_id, "ops").await;
    let token_for = |path: &'static str| {
        let bff = &bff;
        let alice = &alice;
        async move {
            let r = bff.app.send(bff.app.get(path).cookie_of(alice)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let seen = bff.recorder.seen();
            let auth = seen.last().unwrap().headers["authorization"]
                .to_str()
                .unwrap()
                .to_owned();
            jwt_claims(auth.trim_start_matches("Bearer "))
        }
    };
    assert_eq!(
        token_for("/bff/other/x").await["groups"],
        serde_json::json!(["ops"])
    );
    assert!(token_for("/bff/rec/x").await.get("groups").is_none());
}
