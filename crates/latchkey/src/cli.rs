//! Command-line interface: `serve`, `user add|mfa-reset|groups`,
//! `sessions list|revoke`, `keys list|rotate`, `forward-auth check`.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use latchkey_auth::keyring;
use latchkey_auth::sessions::{EndSessions, end_sessions};
use latchkey_core::{Clock as _, Password, PasswordHash, SessionHandle, UserId, Username};
use latchkey_store::{RevokeAt, Store, StoreError, User};

use crate::clock::SystemClock;

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
        name: String,
        /// Read the password from standard input (the only way: never argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove every second factor of a user (TOTP, recovery codes, passkeys) and
    /// end all their sessions and token families.
    MfaReset {
        /// The user's name.
        name: String,
    },
    /// Show a user's groups, after adding and removing the ones given.
    Groups {
        /// The user's name.
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
        /// The session's id (as listed).
        id: Option<String>,
    },
}

/// `latchkey user add NAME --password-stdin`.
pub async fn user_add(store: &dyn Store, name: &str) -> anyhow::Result<()> {
    let username = Username::parse(name).map_err(|e| anyhow::anyhow!("invalid username: {e}"))?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let line = input
        .strip_suffix("\r\n")
        .or_else(|| input.strip_suffix('\n'))
        .unwrap_or(&input)
        .to_owned();
    let password =
        Password::new_for(line, &username).map_err(|e| anyhow::anyhow!("invalid password: {e}"))?;
    let mut id = [0u8; 16];
    let mut salt = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| anyhow::anyhow!("OS random failed: {e}"))?;
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("OS random failed: {e}"))?;
    let user = User {
        id: UserId::from_random(id),
        username,
        password_hash: Some(
            tokio::task::spawn_blocking(move || PasswordHash::compute(&password, salt)).await?,
        ),
        created_at: SystemClock.now(),
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

pub(crate) async fn find_user(store: &dyn Store, name: &str) -> anyhow::Result<User> {
    let username = Username::parse(name).map_err(|e| anyhow::anyhow!("invalid username: {e}"))?;
    store
        .user_by_name(&username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user named {username}"))
}

/// `latchkey sessions list [--user NAME] [--json]`.
pub async fn sessions_list(
    store: &dyn Store,
    user: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let user_id = match user {
        Some(name) => Some(find_user(store, name).await?.id),
        None => None,
    };
    let sessions = store.list_sessions(user_id, SystemClock.now()).await?;
    if !json {
        println!(
            "{:<24} {:<36} {:<24} {:<24} {:<15} USER AGENT",
            "ID", "USER ID", "CREATED", "LAST SEEN", "IP"
        );
    }
    for s in sessions {
        if json {
            let line = serde_json::json!({
                "id": s.handle.as_str(),
                "user_id": s.user_id.to_string(),
                "created_at": s.created_at.to_rfc3339(),
                "last_seen_at": s.last_seen_at.to_rfc3339(),
                "expires_at": s.idle_expires_at.min(s.absolute_expires_at).to_rfc3339(),
                "ip": s.ip,
                "user_agent": s.user_agent,
            });
            println!("{line}");
        } else {
            println!(
                "{:<24} {:<36} {:<24} {:<24} {:<15} {}",
                s.handle.as_str(),
                s.user_id,
                s.created_at.to_rfc3339(),
                s.last_seen_at.to_rfc3339(),
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
    let at = RevokeAt {
        now: SystemClock.now(),
        ttl: settings.revocation_ttl(),
    };
    match (user, id) {
        (Some(name), _) => {
            let user = find_user(store, name).await?;
            let ended = end_sessions(store, at, EndSessions::Everywhere(user.id)).await?;
            println!(
                "ended {} session(s) and {} token famil(ies) of {}",
                ended.sessions.len(),
                ended.families.len(),
                user.username
            );
            Ok(())
        }
        (None, Some(id)) => {
            let handle =
                SessionHandle::parse(id).map_err(|_| anyhow::anyhow!("no session with id {id}"))?;
            let which = EndSessions::One {
                handle: &handle,
                owner: None,
            };
            if !end_sessions(store, at, which).await?.is_empty() {
                println!("ended session {id}");
                Ok(())
            } else {
                bail!("no session with id {id}")
            }
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
    let at = RevokeAt {
        now: SystemClock.now(),
        ttl: settings.revocation_ttl(),
    };
    let ended = latchkey_auth::mfa::reset_mfa(store, at, user.id).await?;
    println!(
        "removed the second factors of {}; ended {} session(s) and {} token famil(ies)",
        user.username,
        ended.sessions.len(),
        ended.families.len()
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
