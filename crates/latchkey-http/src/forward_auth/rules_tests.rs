#![allow(clippy::unwrap_used)]

use axum::http::{HeaderMap, Method};

use super::*;

fn req(url: &str, method: Method) -> OriginalRequest {
    let mut h = HeaderMap::new();
    h.insert("x-original-url", url.parse().unwrap());
    OriginalRequest::from_headers(&h, method).unwrap().unwrap()
}

fn spec(hosts: &[&str], paths: &[&str], policy: &str) -> RuleSpec {
    RuleSpec {
        hosts: hosts.iter().map(|s| (*s).to_owned()).collect(),
        paths: paths.iter().map(|s| (*s).to_owned()).collect(),
        policy: Some(policy.into()),
        ..RuleSpec::default()
    }
}

const GROUPS: &[String] = &[];

fn who<'a>(name: &'a str, groups: &'a [String], amr: &'a [String]) -> Option<Who<'a>> {
    Some(Who {
        username: name,
        groups,
        amr,
    })
}

#[test]
fn hosts_match_exactly_or_as_strict_subdomains() {
    let rules = Rules::new(
        &[spec(&["*.example.com", "App.Test"], &[], "signed_in")],
        Policy::Deny,
    )
    .unwrap();
    for (url, hit) in [
        ("https://a.example.com/", true),
        ("https://a.b.example.com/", true),
        ("https://example.com/", false),
        ("https://evilexample.com/", false),
        ("https://app.test:8443/", true),
        ("https://x.app.test/", false),
    ] {
        assert_eq!(
            rules.matching(Some(&req(url, Method::GET))).is_some(),
            hit,
            "{url}"
        );
    }
}

#[test]
fn prefixes_end_at_a_segment_and_regexes_see_the_normalised_path() {
    let rules = Rules::new(
        &[spec(
            &[],
            &["/admin", "/static/", "regex:^/api/v[0-9]+/"],
            "deny",
        )],
        Policy::SignedIn,
    )
    .unwrap();
    for (path, hit) in [
        ("/admin", true),
        ("/admin/", true),
        ("/admin/x", true),
        ("/administrator", false),
        ("/static/a.css", true),
        ("/static", false),
        ("/api/v2/x", true),
        ("/x/../api/v1/y", true),
        ("/api/vx/", false),
    ] {
        let url = format!("https://h.test{path}");
        assert_eq!(
            rules.matching(Some(&req(&url, Method::GET))).is_some(),
            hit,
            "{path}"
        );
    }
}

#[test]
fn policies_decide_for_whom() {
    let admins = vec!["admins".to_owned()];
    let pwd = vec!["pwd".to_owned()];
    let mfa = vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()];
    let rules = Rules::new(
        &[
            RuleSpec {
                methods: vec!["post".into()],
                users: vec!["bob".into()],
                ..RuleSpec::default()
            },
            RuleSpec {
                groups: vec!["admins".into()],
                ..spec(&[], &["/admin"], "two_factor")
            },
        ],
        Policy::Deny,
    )
    .unwrap();
    let post = req("https://h.test/x", Method::POST);
    assert_eq!(rules.decide(Some(&post), None), (Some(0), Decision::SignIn));
    assert_eq!(
        rules.decide(Some(&post), who("bob", GROUPS, &pwd)).1,
        Decision::Allow
    );
    assert!(matches!(
        rules.decide(Some(&post), who("eve", GROUPS, &pwd)).1,
        Decision::Deny(_)
    ));
    let admin = req("https://h.test/admin/x", Method::GET);
    assert_eq!(
        rules.decide(Some(&admin), who("al", &admins, &mfa)).1,
        Decision::Allow
    );
    assert!(matches!(
        rules.decide(Some(&admin), who("al", &admins, &pwd)).1,
        Decision::Deny(_)
    ));
    assert!(matches!(
        rules.decide(Some(&admin), who("al", GROUPS, &mfa)).1,
        Decision::Deny(_)
    ));
    let other = req("https://h.test/x", Method::GET);
    assert_eq!(rules.decide(Some(&other), who("al", &admins, &mfa)).0, None);
    assert!(matches!(
        rules.decide(Some(&other), who("al", &admins, &mfa)).1,
        Decision::Deny(_)
    ));
    // No description of the request: only catch-all rules apply.
    assert_eq!(rules.decide(None, who("bob", GROUPS, &pwd)).0, None);
}
