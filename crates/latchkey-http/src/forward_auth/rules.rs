//! `[[forward_auth.rules]]`: which users may reach which original
//! requests. Each rule matches hosts (exact, or `*.example.com` for any
//! subdomain), paths (a prefix ending at a segment boundary, or
//! `regex:…` against the normalised path) and methods; an empty list
//! matches everything. The first rule that matches decides; when none
//! does, `forward_auth.default_policy` decides (default `deny`).
//!
//! A rule's policy is `deny`, `signed_in` or `two_factor` (the sign-in
//! used a second factor: `amr` has `mfa`); `users` and `groups`, when
//! given, further require the user to be listed or in one of the groups.

use axum::http::Method;
use regex::Regex;

use super::original::OriginalRequest;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    #[default]
    Deny,
    SignedIn,
    TwoFactor,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "deny" => Ok(Self::Deny),
            "signed_in" => Ok(Self::SignedIn),
            "two_factor" => Ok(Self::TwoFactor),
            _ => Err(format!(
                "unknown policy {s:?}: expected deny, signed_in or two_factor"
            )),
        }
    }
}

/// A rule as written in the configuration.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    pub policy: Option<String>,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Clone, Debug)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`: stored as `.example.com`.
    Suffix(String),
}

#[derive(Clone, Debug)]
enum PathPattern {
    Prefix(String),
    Regex(Regex),
}

/// One validated rule.
#[derive(Clone, Debug)]
pub struct Rule {
    hosts: Vec<HostPattern>,
    paths: Vec<PathPattern>,
    methods: Vec<Method>,
    pub policy: Policy,
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// The rules in order, and the policy when none matches.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
    pub default_policy: Policy,
}

/// A problem in a rule, for the start-up report.
pub type RuleError = String;

/// Who is asking, when signed in.
#[derive(Clone, Copy, Debug)]
pub struct Who<'a> {
    pub username: &'a str,
    pub groups: &'a [String],
    pub amr: &'a [String],
}

/// What the rules say about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Nobody is signed in and the rule needs someone.
    SignIn,
    /// Refused; the reason is for operators (CLI, logs), not clients.
    Deny(String),
}

impl Rules {
    /// Validates every rule, reporting all problems at once.
    pub fn new(specs: &[RuleSpec], default_policy: Policy) -> Result<Self, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            match Rule::new(spec) {
                Ok(r) => rules.push(r),
                Err(es) => errors.extend(
                    es.into_iter()
                        .map(|e| format!("`forward_auth.rules[{i}]`: {e}")),
                ),
            }
        }
        if errors.is_empty() {
            Ok(Self {
                rules,
                default_policy,
            })
        } else {
            Err(errors)
        }
    }

    /// The index of the first rule matching `req`, if any.
    pub fn matching(&self, req: Option<&OriginalRequest>) -> Option<usize> {
        self.rules.iter().position(|r| r.matches(req))
    }

    /// The decision for `req` by `who`, with the rule that made it.
    pub fn decide(
        &self,
        req: Option<&OriginalRequest>,
        who: Option<Who<'_>>,
    ) -> (Option<usize>, Decision) {
        match self.matching(req) {
            Some(i) => (Some(i), self.rules[i].decide(who)),
            None => (None, apply(self.default_policy, &[], &[], who)),
        }
    }
}

impl Rule {
    fn new(spec: &RuleSpec) -> Result<Self, Vec<RuleError>> {
        let mut errors = Vec::new();
        let hosts = spec
            .hosts
            .iter()
            .filter_map(|h| host_pattern(h).map_err(|e| errors.push(e)).ok())
            .collect();
        let paths = spec
            .paths
            .iter()
            .filter_map(|p| path_pattern(p).map_err(|e| errors.push(e)).ok())
            .collect();
        let methods = spec
            .methods
            .iter()
            .filter_map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| errors.push(format!("{m:?} is not a method")))
                    .ok()
            })
            .collect();
        let policy = match (
            &spec.policy,
            spec.users.is_empty() && spec.groups.is_empty(),
        ) {
            (Some(p), _) => p.parse().unwrap_or_else(|e| {
                errors.push(e);
                Policy::Deny
            }),
            (None, false) => Policy::SignedIn,
            (None, true) => {
                errors.push("`policy` is required (deny, signed_in or two_factor)".into());
                Policy::Deny
            }
        };
        if policy == Policy::Deny && !(spec.users.is_empty() && spec.groups.is_empty()) {
            errors.push("`users`/`groups` with policy deny would never let anyone in".into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            hosts,
            paths,
            methods,
            policy,
            users: spec.users.clone(),
            groups: spec.groups.clone(),
        })
    }

    fn matches(&self, req: Option<&OriginalRequest>) -> bool {
        let (host, path, method) = match req {
            Some(r) => (r.host.as_str(), r.path.as_str(), &r.method),
            // No description of the request: only a rule that matches
            // every request applies.
            None => {
                return self.hosts.is_empty() && self.paths.is_empty() && self.methods.is_empty();
            }
        };
        let host_ok = self.hosts.is_empty()
            || self.hosts.iter().any(|h| match h {
                HostPattern::Exact(e) => host == e,
                HostPattern::Suffix(s) => host.len() > s.len() && host.ends_with(s.as_str()),
            });
        let path_ok = self.paths.is_empty()
            || self.paths.iter().any(|p| match p {
                PathPattern::Prefix(p) => prefix_matches(p, path),
                PathPattern::Regex(r) => r.is_match(path),
            });
        let method_ok = self.methods.is_empty() || self.methods.contains(method);
        host_ok && path_ok && method_ok
    }

    fn decide(&self, who: Option<Who<'_>>) -> Decision {
        apply(self.policy, &self.users, &self.groups, who)
    }
}

fn apply(policy: Policy, users: &[String], groups: &[String], who: Option<Who<'_>>) -> Decision {
    if policy == Policy::Deny {
        return Decision::Deny("the policy is deny".into());
    }
    let Some(who) = who else {
        return Decision::SignIn;
    };
    if policy == Policy::TwoFactor && !who.amr.iter().any(|a| a == "mfa") {
        return Decision::Deny("the policy needs a second factor and the sign-in used none".into());
    }
    if users.is_empty() && groups.is_empty() {
        return Decision::Allow;
    }
    if users.iter().any(|u| u == who.username) {
        return Decision::Allow;
    }
    if groups.iter().any(|g| who.groups.contains(g)) {
        return Decision::Allow;
    }
    Decision::Deny("the user is neither listed nor in a listed group".into())
}

/// `/admin` matches `/admin` and `/admin/…`, not `/administrator`; a
/// prefix ending in `/` matches what starts with it.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn host_pattern(h: &str) -> Result<HostPattern, RuleError> {
    let lower = h.trim().to_ascii_lowercase();
    let (suffix, name) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    let valid = super::original::host_of(name).is_some_and(|n| n == name);
    if !valid {
        return Err(format!(
            "host {h:?}: expected a host name like app.example.com or *.example.com"
        ));
    }
    Ok(if suffix {
        HostPattern::Suffix(format!(".{name}"))
    } else {
        HostPattern::Exact(name.to_owned())
    })
}

fn path_pattern(p: &str) -> Result<PathPattern, RuleError> {
    if let Some(re) = p.strip_prefix("regex:") {
        return Regex::new(re)
            .map(PathPattern::Regex)
            .map_err(|e| format!("path {p:?}: not a regex ({e})"));
    }
    match super::original::normalize(p) {
        Some(n) if p.starts_with('/') && n == p => Ok(PathPattern::Prefix(n)),
        _ => Err(format!(
            "path {p:?}: expected a normalised prefix like /admin or regex:^/api/"
        )),
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|h| match h {
                HostPattern::Exact(e) => e.clone(),
                HostPattern::Suffix(s) => format!("*{s}"),
            })
            .collect();
        let paths: Vec<String> = self
            .paths
            .iter()
            .map(|p| match p {
                PathPattern::Prefix(p) => p.clone(),
                PathPattern::Regex(r) => format!("regex:{r}"),
            })
            .collect();
        let methods: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
        write!(
            f,
            "hosts={hosts:?} paths={paths:?} methods={methods:?} policy={:?} users={:?} groups={:?}",
            self.policy, self.users, self.groups
        )
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
