//! `[oidc.providers.NAME]` tables: `issuer`, `client_id` (required),
//! `client_secret` / `client_secret_file` / `client_secret_env` (at most
//! one; none for a public client), `display_name` (NAME), `scopes`
//! (`["openid", "email", "profile"]`), `claims.username`
//! (`preferred_username`) and `claims.email` (`email`).

use latchkey_oidc::ProviderConfig;
use secrecy::SecretString;

use super::values::{list, text};
use super::*;

/// `[oidc.providers.NAME]` tables, by name: each table's fields and values.
pub(super) type OidcTables = std::collections::BTreeMap<String, Vec<(String, Value)>>;

/// Where the raw document's provider tables start.
pub(super) const PREFIX: &str = "oidc.providers.";

/// Files up to this size are read for a client secret.
const MAX_SECRET_FILE: u64 = 64 * 1024;

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub(super) fn providers(
    tables: OidcTables,
    env: &HashMap<String, String>,
    errors: &mut Vec<String>,
) -> Vec<ProviderConfig> {
    let mut out = Vec::new();
    for (name, fields) in tables {
        if !valid_name(&name) {
            errors.push(format!(
                "`oidc.providers.{name}`: names are 1-64 of a-z 0-9 - _"
            ));
            continue;
        }
        let mut p = ProviderConfig {
            name: name.clone(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            display_name: name.clone(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            username_claim: "preferred_username".into(),
            email_claim: "email".into(),
        };
        let mut secrets = 0;
        for (field, value) in fields {
            let at = format!("oidc.providers.{name}.{field}");
            secrets += usize::from(field.starts_with("client_secret"));
            if let Err(why) = field_value(&mut p, &field, &value, env) {
                errors.push(if why == "unknown key" {
                    format!("unknown key `{at}`")
                } else {
                    format!("`{at}`: {why}")
                });
            }
        }
        required(&p, secrets, errors);
        out.push(p);
    }
    out
}

fn required(p: &ProviderConfig, secrets: usize, errors: &mut Vec<String>) {
    let at = format!("oidc.providers.{}", p.name);
    if p.issuer.is_empty() {
        errors.push(format!("`{at}.issuer` is required"));
    }
    if p.client_id.is_empty() {
        errors.push(format!("`{at}.client_id` is required"));
    }
    if secrets > 1 {
        errors.push(format!(
            "`{at}`: give at most one of client_secret, client_secret_file, client_secret_env"
        ));
    }
    if !p.scopes.iter().any(|s| s == "openid") {
        errors.push(format!("`{at}.scopes` must include \"openid\""));
    }
}

fn field_value(
    p: &mut ProviderConfig,
    field: &str,
    value: &Value,
    env: &HashMap<String, String>,
) -> Result<(), String> {
    let nonempty = |v: &Value| text(v).ok().filter(|s| !s.is_empty());
    match field {
        "issuer" => match nonempty(value) {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                p.issuer = url;
            }
            _ => return Err("expected an https:// URL".into()),
        },
        "client_id" => p.client_id = nonempty(value).ok_or("expected a string")?,
        "client_secret" => p.client_secret = Some(secret(nonempty(value))?),
        "client_secret_file" => {
            let path = nonempty(value).ok_or("expected a file path")?;
            p.client_secret = Some(secret(read_secret_file(&path)?)?);
        }
        "client_secret_env" => {
            let var = nonempty(value).ok_or("expected a variable name")?;
            let found = env.get(&var).filter(|v| !v.is_empty()).cloned();
            p.client_secret = Some(secret(found).map_err(|_| format!("${var} is not set"))?);
        }
        "display_name" => p.display_name = nonempty(value).ok_or("expected a string")?,
        "scopes" => p.scopes = list(value, "scope")?,
        "claims.username" => p.username_claim = nonempty(value).ok_or("expected a claim name")?,
        "claims.email" => p.email_claim = nonempty(value).ok_or("expected a claim name")?,
        _ => return Err("unknown key".into()),
    }
    Ok(())
}

fn secret(value: Option<String>) -> Result<SecretString, String> {
    value
        .map(|s| SecretString::from(s.trim().to_owned()))
        .ok_or_else(|| "expected a non-empty secret".into())
}

pub(super) fn read_secret_file(path: &str) -> Result<Option<String>, String> {
    let meta = std::fs::metadata(path).map_err(|_| format!("cannot read {path}"))?;
    if meta.len() > MAX_SECRET_FILE {
        return Err(format!("{path} is too large for a secret"));
    }
    let s = std::fs::read_to_string(path).map_err(|_| format!("cannot read {path}"))?;
    Ok(Some(s).filter(|s| !s.trim().is_empty()))
}
