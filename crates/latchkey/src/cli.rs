//! Command-line interface: `serve`, `user add|mfa-reset|groups`,
//! `sessions list|revoke`, `keys list|rotate`, `forward-auth check`.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Parser, Subcommand};
use latchkey_auth::keyring;
use latchkey_auth::sessions::{EndSessions, end_sessions};
use latchkey_core::{Clock as _, SessionHandle, UserId, Username};
use latchkey_store::{RevokeAt, Store, StoreError, User};

use crate::clock::SystemClock;
pub(crate) use crate::user_cli::find_user;
use crate::user_cli::{ended_summary, hash, read_password};

#[derive(Parser, Debug)]
#[command(
    name = "latchkey",
    version,
    about = "One authentication server for a web app and its APIs"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Store URL, e.g. sqlite://latchkey.db (default).
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve HTTP (default 127.0.0.1:8080, store ./latchkey.db).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Inspect and end sessions.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// Inspect and rotate signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print security events (the audit trail), oldest first, as JSON lines.
    Events {
        /// Only this user's events.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Only events of this type (e.g. login.failed).
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Keep printing new events as they are recorded.
        #[arg(long)]
        follow: bool,
    },
    /// Manage the admin API's keys.
    AdminKeys {
        #[command(subcommand)]
        command: crate::admin_cli::AdminKeysCommand,
    },
    /// Check forward auth's access rules.
    ForwardAuth {
        #[command(subcommand)]
        command: crate::cli_forward::ForwardAuthCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// List signing keys: the current one and retired ones still verifying.
    List,
    /// Make a new current key; the old one keeps verifying until its
    /// tokens have expired, then leaves the JWKS.
    Rotate,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        /// Username: 1–64 of A-Z a-z 0-9 . _ - @ +
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// Read the password from standard input (the only way: never argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove every second factor of a user (TOTP, recovery codes, passkeys) and
    /// end all their sessions and token families.
    MfaReset {
        /// The user's name.
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    #[command(flatten)]
    Account(crate::user_cli::AccountCommand),
    /// Show a user's groups, after adding and removing the ones given.
    Groups {
        /// The user's name.
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// Add the user to this group (repeatable).
        #[arg(long, value_name = "GROUP")]
        add: Vec<String>,
        /// Remove the user from this group (repeatable).
        #[arg(long, value_name = "GROUP")]
        remove: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// List live sessions.
    List {
        /// Only this user's sessions.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// End one session by id, or every session of a user.
    Revoke {
        /// End every session of this user.
        #[arg(
            long,
            value_name = "NAME",
            conflicts_with = "id",
            required_unless_present = "id"
        )]
        user: Option<String>,
        /// The session's or login's id (as listed; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: Option<String>,
    },
}

/// `latchkey user add NAME --password-stdin`.
pub async fn user_add(store: &dyn Store, name: &str) -> anyhow::Result<()> {
    let username = Username::parse(name).map_err(|e| anyhow::anyhow!("invalid username: {e}"))?;
    let password = read_password(&username)?;
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| anyhow::anyhow!("OS random failed: {e}"))?;
    let user = User {
        id: UserId::from_random(id),
        username,
        password_hash: Some(hash(password).await?),
        created_at: SystemClock.now(),
        disabled_at: None,
    };
    match store.create_user(&user).await {
        Ok(()) => {
            println!("created user {} ({})", user.username, user.id);
            Ok(())
        }
        Err(StoreError::Conflict(_)) => bail!("user {} already exists", user.username),
        Err(e) => Err(e.into()),
    }
}

/// `latchkey sessions list [--user NAME] [--json]`: every live login.
pub async fn sessions_list(
    store: &dyn Store,
    user: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let user_id = match user {
        Some(name) => Some(find_user(store, name).await?.id),
        None => None,
    };
    if !json {
        println!(
            "{:<24} {:<10} {:<24} {:<24} {:<24} {:<15} USER AGENT",
            "ID", "KIND", "USER", "CREATED", "LAST USED", "IP"
        );
    }
    let mut names: std::collections::HashMap<UserId, String> = std::collections::HashMap::new();
    for s in latchkey_auth::logins::live_logins(store, user_id, SystemClock.now()).await? {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(s.user_id) {
            let name = store
                .user_by_id(s.user_id)
                .await?
                .map_or_else(|| s.user_id.to_string(), |u| u.username.to_string());
            slot.insert(name);
        }
        let username = names.get(&s.user_id).map_or("-", String::as_str);
        if json {
            let line = serde_json::json!({
                "id": s.id,
                "kind": s.kind,
                "user_id": s.user_id.to_string(),
                "username": username,
                "created_at": s.created_at.to_rfc3339(),
                "last_seen_at": s.last_used_at.to_rfc3339(),
                "expires_at": s.expires_at.to_rfc3339(),
                "ip": s.ip,
                "user_agent": s.user_agent,
            });
            println!("{line}");
        } else {
            println!(
                "{:<24} {:<10} {:<24} {:<24} {:<24} {:<15} {}",
                s.id,
                s.kind,
                username,
                s.created_at.to_rfc3339(),
                s.last_used_at.to_rfc3339(),
                s.ip.as_deref().unwrap_or("-"),
                s.user_agent.as_deref().unwrap_or("-"),
            );
        }
    }
    Ok(())
}

/// `latchkey sessions revoke (--user NAME | ID)`.
pub async fn sessions_revoke(
    store: &dyn Store,
    settings: &latchkey_http::Settings,
    user: Option<&str>,
    id: Option<&str>,
) -> anyhow::Result<()> {
    let at = RevokeAt::new(SystemClock.now(), settings.revocation_ttl());
    match (user, id) {
        (Some(name), _) => {
            let user = find_user(store, name).await?;
            let ended = end_sessions(store, at, EndSessions::Everywhere(user.id)).await?;
            println!("ended {} of {}", ended_summary(&ended), user.username);
            Ok(())
        }
        (None, Some(id)) => {
            if let Ok(handle) = SessionHandle::parse(id) {
                let which = EndSessions::One {
                    handle: &handle,
                    owner: None,
                };
                if !end_sessions(store, at, which).await?.is_empty() {
                    println!("ended session {id}");
                    return Ok(());
                }
            }
            // A bearer or hybrid login, by its family's id.
            let live = store.list_families(None, at.now).await?;
            if live.iter().any(|f| f.id == id) {
                end_sessions(store, at, EndSessions::Family(id)).await?;
                println!("ended login {id}");
                return Ok(());
            }
            bail!("no session or login with id {id}")
        }
        (None, None) => bail!("give a session id or --user NAME"),
    }
}

/// `latchkey user mfa-reset NAME`.
pub async fn user_mfa_reset(
    store: &dyn Store,
    settings: &latchkey_http::Settings,
    name: &str,
) -> anyhow::Result<()> {
    let user = find_user(store, name).await?;
    let at = RevokeAt::new(SystemClock.now(), settings.revocation_ttl());
    let ended = latchkey_auth::mfa::reset_mfa(store, at, user.id).await?;
    println!(
        "removed the second factors of {}; ended {}",
        user.username,
        ended_summary(&ended)
    );
    Ok(())
}

/// `latchkey keys list`.
pub async fn keys_list(store: &dyn Store) -> anyhow::Result<()> {
    let now = SystemClock.now();
    println!(
        "{:<24} {:<6} {:<9} {:<24} VERIFIES UNTIL",
        "KID", "ALG", "STATE", "CREATED"
    );
    for k in store.keys().await? {
        let (state, until) = match (k.retired_at, k.not_after) {
            (None, _) => ("current", "-".to_owned()),
            (Some(_), Some(t)) if t > now => ("retired", t.to_rfc3339()),
            (Some(_), _) => ("expired", "-".to_owned()),
        };
        println!(
            "{:<24} {:<6} {:<9} {:<24} {}",
            k.kid,
            k.alg,
            state,
            k.created_at.to_rfc3339(),
            until
        );
    }
    Ok(())
}

/// `latchkey keys rotate`.
pub async fn keys_rotate(store: &dyn Store, config: &crate::Config) -> anyhow::Result<()> {
    let policy = crate::app::key_policy(config);
    let now = SystemClock.now();
    keyring::ensure_current(store, &policy, now).await?;
    let kid = keyring::rotate(store, &policy, now).await?;
    println!(
        "new signing key {kid} ({}); running servers pick it up within {} s",
        policy.algorithm,
        crate::app::KEY_RELOAD.as_secs()
    );
    Ok(())
}
