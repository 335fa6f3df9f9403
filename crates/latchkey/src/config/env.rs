//! The `LATCHKEY_*` environment. A variable is configuration when its
//! name spells a key (`LATCHKEY_SESSIONS__IDLE_TIMEOUT` is
//! `sessions.idle_timeout`, `LATCHKEY_BFF__APIS__ORDERS__URL` a field of a
//! `[bff.apis.orders]` table). Any other `LATCHKEY_*` variable is not
//! ours to refuse: Kubernetes sets `LATCHKEY_PORT` and
//! `LATCHKEY_SERVICE_HOST` for a Service named `latchkey`, and test
//! suites set `LATCHKEY_TEST_*`. Those are ignored and named once in a
//! warning at start, with the key a near miss probably meant.

use std::collections::HashMap;

use super::keys::{KEYS, TABLES};

/// The environment split into configuration and the rest.
#[derive(Default)]
pub(super) struct Environment {
    /// The configuration variables, as the `config` crate reads them.
    pub vars: config::Map<String, String>,
    /// Dotted key → the variable it came from (to name a bad value's
    /// source).
    pub sources: HashMap<String, String>,
    /// Ignored variables, each with a "did you mean" when one is close.
    pub ignored: Vec<String>,
}

impl Environment {
    pub(super) fn read(env: HashMap<String, String>) -> Self {
        let mut out = Self::default();
        for (name, value) in env {
            let Some(key) = key_of(&name) else { continue };
            if is_key(&key) {
                out.sources.insert(key, name.clone());
                out.vars.insert(name, value);
            } else {
                out.ignored.push(match nearest(&key) {
                    Some(meant) => format!("{name} (did you mean {}?)", var_of(meant)),
                    None => name,
                });
            }
        }
        out.ignored.sort();
        out
    }
}

/// `sessions.idle_timeout` for `LATCHKEY_SESSIONS__IDLE_TIMEOUT`.
fn key_of(var: &str) -> Option<String> {
    let rest = var.strip_prefix("LATCHKEY_")?;
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

/// `LATCHKEY_SESSIONS__IDLE_TIMEOUT` for `sessions.idle_timeout`.
fn var_of(key: &str) -> String {
    format!("LATCHKEY_{}", key.replace('.', "__").to_ascii_uppercase())
}

fn is_key(key: &str) -> bool {
    KEYS.iter().any(|(k, _)| *k == key)
        || TABLES
            .iter()
            .any(|t| key.strip_prefix(t).is_some_and(|rest| rest.contains('.')))
}

/// The known key `key` is most likely a misspelling of, if any.
pub(super) fn nearest(key: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|(k, _)| (strsim::levenshtein(k, key), *k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 8))
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Environment {
        Environment::read(
            vars.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn kubernetes_service_variables_and_test_switches_are_not_configuration() {
        let e = read(&[
            ("LATCHKEY_PORT", "tcp://10.0.0.7:8080"),
            ("LATCHKEY_SERVICE_HOST", "10.0.0.7"),
            ("LATCHKEY_TEST_POSTGRES_URL", "postgres://x"),
            ("LATCHKEY_SESSIONS__IDLE_TIMEOUT", "5m"),
            ("LATCHKEY_BFF__APIS__ORDERS__URL", "http://127.0.0.1:9"),
            ("PATH", "/bin"),
        ]);
        let mut kept: Vec<_> = e.vars.keys().cloned().collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                "LATCHKEY_BFF__APIS__ORDERS__URL",
                "LATCHKEY_SESSIONS__IDLE_TIMEOUT"
            ]
        );
        assert_eq!(
            e.ignored,
            [
                "LATCHKEY_PORT",
                "LATCHKEY_SERVICE_HOST",
                "LATCHKEY_TEST_POSTGRES_URL"
            ]
        );
        assert_eq!(
            e.sources.get("sessions.idle_timeout").map(String::as_str),
            Some("LATCHKEY_SESSIONS__IDLE_TIMEOUT")
        );
    }

    #[test]
    fn a_near_miss_names_the_variable_meant() {
        let e = read(&[("LATCHKEY_SESIONS__IDLE_TIMEOUT", "5m")]);
        assert_eq!(
            e.ignored,
            ["LATCHKEY_SESIONS__IDLE_TIMEOUT (did you mean LATCHKEY_SESSIONS__IDLE_TIMEOUT?)"]
        );
    }
}
