//! `latchkey user passwd|list|disable|enable|delete`: what an operator
//! does to accounts from a shell. Revocations reach running servers
//! through the store's revocation feed (within a second; at once on
//! PostgreSQL).

use std::io::Read as _;

use anyhow::Context as _;
use clap::Subcommand;
use latchkey_core::{Clock as _, Password, PasswordHash, Username};
use latchkey_store::{Ended, Keep, RevokeAt, Store, User, UserQuery};

use crate::clock::SystemClock;
use latchkey_auth::audit::{Subscriptions, cli_event, ended_counts, kind};

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Set a user's password (read from standard input) and end every
    /// session and token of the user.
    Passwd {
        /// The user's name.
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// Read the password from standard input (the only way: never argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users by name.
    List {
        /// Only usernames containing this.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: every session and token ends at once, and sign-ins
    /// fail like a wrong password.
    Disable {
        /// The user's name.
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// The user's name.
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// Delete a user with everything they own.
    Delete {
        /// The user's name.
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
}

/// `n` and the noun, singular or plural.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What an ending operation ended, for people.
pub fn ended_summary(ended: &Ended) -> String {
    format!(
        "{} and {}",
        count(ended.sessions.len(), "session", "sessions"),
        count(ended.families.len(), "token family", "token families")
    )
}

/// The password on standard input (one line; its newline is not part of
/// it), under the policy for `username`.
pub fn read_password(username: &Username) -> anyhow::Result<Password> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let line = input
        .strip_suffix("\r\n")
        .or_else(|| input.strip_suffix('\n'))
        .unwrap_or(&input)
        .to_owned();
    Password::new_for(line, username).map_err(|e| anyhow::anyhow!("invalid password: {e}"))
}

/// An argon2id hash of `password`, off the async threads.
pub async fn hash(password: Password) -> anyhow::Result<PasswordHash> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("OS random failed: {e}"))?;
    Ok(tokio::task::spawn_blocking(move || PasswordHash::compute(&password, salt)).await?)
}

pub async fn find_user(store: &dyn Store, name: &str) -> anyhow::Result<User> {
    let username = Username::parse(name).map_err(|e| anyhow::anyhow!("invalid username: {e}"))?;
    store
        .user_by_name(&username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user named {username}"))
}

pub async fn run(
    store: &dyn Store,
    ttl: std::time::Duration,
    webhooks: &Subscriptions,
    command: AccountCommand,
) -> anyhow::Result<()> {
    let at = RevokeAt::new(SystemClock.now(), ttl);
    match command {
        AccountCommand::Passwd { name, .. } => {
            let user = find_user(store, &name).await?;
            let hash = hash(read_password(&user.username)?).await?;
            let event = |e: &Ended| {
                Some(cli_event(
                    kind::PASSWORD_CHANGED,
                    at.now,
                    user.id,
                    ended_counts(e),
                    webhooks,
                ))
            };
            let ended = store
                .replace_password(user.id, &hash, Keep::default(), at.recording(&event))
                .await?;
            println!(
                "set the password of {}; ended {}",
                user.username,
                ended_summary(&ended)
            );
        }
        AccountCommand::List { search, json } => list(store, search.as_deref(), json).await?,
        AccountCommand::Disable { name } => {
            let user = find_user(store, &name).await?;
            let event = |e: &Ended| {
                Some(cli_event(
                    kind::USER_DISABLED,
                    at.now,
                    user.id,
                    ended_counts(e),
                    webhooks,
                ))
            };
            let ended = store
                .set_user_disabled(user.id, true, at.recording(&event))
                .await?
                .context("the user was deleted meanwhile")?;
            println!(
                "disabled {}; ended {}",
                user.username,
                ended_summary(&ended)
            );
        }
        AccountCommand::Enable { name } => {
            let user = find_user(store, &name).await?;
            let event = |e: &Ended| {
                Some(cli_event(
                    kind::USER_ENABLED,
                    at.now,
                    user.id,
                    ended_counts(e),
                    webhooks,
                ))
            };
            store
                .set_user_disabled(user.id, false, at.recording(&event))
                .await?
                .context("the user was deleted meanwhile")?;
            println!("enabled {}", user.username);
        }
        AccountCommand::Delete { name } => {
            let user = find_user(store, &name).await?;
            let event = |e: &Ended| {
                let mut detail = ended_counts(e);
                detail["username"] = user.username.as_str().into();
                Some(cli_event(
                    kind::USER_DELETED,
                    at.now,
                    user.id,
                    detail,
                    webhooks,
                ))
            };
            let ended = store
                .delete_user(user.id, at.recording(&event))
                .await?
                .context("the user was deleted meanwhile")?;
            println!("deleted {}; ended {}", user.username, ended_summary(&ended));
        }
    }
    Ok(())
}

async fn list(store: &dyn Store, search: Option<&str>, json: bool) -> anyhow::Result<()> {
    if !json {
        println!("{:<32} {:<36} {:<24} STATE", "USERNAME", "ID", "CREATED");
    }
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_users(UserQuery {
                search,
                after: after.as_deref(),
                limit: 500,
            })
            .await?;
        for u in &page {
            let state = if u.disabled_at.is_some() {
                "disabled"
            } else {
                "active"
            };
            if json {
                let line = serde_json::json!({
                    "id": u.id.to_string(),
                    "username": u.username.as_str(),
                    "created_at": u.created_at.to_rfc3339(),
                    "disabled": u.disabled_at.is_some(),
                });
                println!("{line}");
            } else {
                println!(
                    "{:<32} {:<36} {:<24} {state}",
                    u.username.as_str(),
                    u.id,
                    u.created_at.to_rfc3339()
                );
            }
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.username.as_str().to_owned()),
            _ => return Ok(()),
        }
    }
}
