//! `latchkey user groups NAME [--add G]… [--remove G]…` and
//! `latchkey forward-auth check URL [USER]`.

use anyhow::bail;
use clap::Subcommand;
use latchkey_http::forward_auth::rules::{Decision, Who};
use latchkey_http::forward_auth::{OriginalRequest, valid_group_name};
use latchkey_store::Store;

#[derive(Subcommand, Debug)]
pub enum ForwardAuthCommand {
    /// Show which `[[forward_auth.rules]]` rule matches a request and what
    /// it decides for a user.
    Check {
        /// The original URL, e.g. https://app.example.com/admin/users
        url: String,
        /// The user's name; without it, the request is anonymous.
        user: Option<String>,
        /// The original method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// Suppose the user signed in with a second factor (`amr` has `mfa`).
        #[arg(long)]
        two_factor: bool,
    },
}

/// `latchkey user groups NAME [--add G]… [--remove G]…`: changes, then
/// prints the user's groups.
pub async fn user_groups(
    store: &dyn Store,
    name: &str,
    add: &[String],
    remove: &[String],
) -> anyhow::Result<()> {
    for g in add.iter().chain(remove) {
        if !valid_group_name(g) {
            bail!("invalid group name {g:?}: 1-64 of A-Z a-z 0-9 . _ - : (no commas)");
        }
    }
    let user = crate::cli::find_user(store, name).await?;
    for g in add {
        store.add_to_group(user.id, g).await?;
    }
    for g in remove {
        store.remove_from_group(user.id, g).await?;
    }
    for g in store.groups_of(user.id).await? {
        println!("{g}");
    }
    Ok(())
}

/// `latchkey forward-auth check URL [USER]`.
pub async fn check(
    store: &dyn Store,
    settings: &latchkey_http::Settings,
    command: ForwardAuthCommand,
) -> anyhow::Result<()> {
    let ForwardAuthCommand::Check {
        url,
        user,
        method,
        two_factor,
    } = command;
    let method = axum::http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())?;
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("x-original-url", url.parse()?);
    let Ok(Some(original)) = OriginalRequest::from_headers(&headers, method) else {
        bail!("{url:?} is not an absolute http(s) URL with a normalisable path");
    };
    let (username, groups) = match &user {
        Some(name) => {
            let u = crate::cli::find_user(store, name).await?;
            (u.username.as_str().to_owned(), store.groups_of(u.id).await?)
        }
        None => (String::new(), Vec::new()),
    };
    let amr: Vec<String> = if two_factor {
        vec!["pwd".into(), "otp".into(), "mfa".into()]
    } else {
        vec!["pwd".into()]
    };
    let who = user.as_ref().map(|_| Who {
        username: &username,
        groups: &groups,
        amr: &amr,
    });
    let rules = &settings.forward_auth.rules;
    let (rule, decision) = rules.decide(Some(&original), who);
    match rule {
        Some(i) => println!("rule {i} matched: {}", rules.rules[i]),
        None => println!(
            "no rule matched: default_policy = {:?}",
            rules.default_policy
        ),
    }
    println!(
        "host {} path {} method {}; user {} in groups {:?}",
        original.host,
        original.path,
        original.method,
        user.as_deref().unwrap_or("(anonymous)"),
        groups
    );
    match decision {
        Decision::Allow => println!("decision: allow"),
        Decision::SignIn => println!("decision: sign in first (401)"),
        Decision::Deny(why) => println!("decision: deny (403): {why}"),
    }
    Ok(())
}
