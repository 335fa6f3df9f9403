//! `latchkey admin-keys create|list|revoke`: the keys of the admin API.

use clap::Subcommand;
use latchkey_auth::admin::create_admin_key;
use latchkey_core::Clock as _;
use latchkey_store::Store;

use crate::clock::SystemClock;

#[derive(Subcommand, Debug)]
pub enum AdminKeysCommand {
    /// Make an admin key and print it (shown this once; stored hashed).
    Create {
        /// A name for the key: 1-64 of a-z A-Z 0-9 . _ -
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// A scope (repeat for several): users:read, users:write,
        /// sessions:write, keys:write, events:read. None: every scope.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
    },
    /// List admin keys (never the keys themselves).
    List,
    /// Revoke the live key named NAME: it stops working at once.
    Revoke {
        /// The key's name.
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
}

pub async fn run(store: &dyn Store, command: AdminKeysCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        AdminKeysCommand::Create { name, scopes } => {
            let made = create_admin_key(store, now, &name, &scopes).await?;
            println!("{}", made.key.as_str());
            eprintln!(
                "admin key {} ({}) with scopes: {}. It is shown only now; keep it secret.",
                made.record.name,
                made.record.id,
                made.record.scopes.join(" ")
            );
        }
        AdminKeysCommand::List => {
            println!(
                "{:<24} {:<16} {:<8} {:<26} {:<26} scopes",
                "name", "id", "state", "created", "last used"
            );
            for k in store.admin_keys().await? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                let used = k
                    .last_used_at
                    .map_or_else(|| "-".into(), |t| t.to_rfc3339());
                println!(
                    "{:<24} {:<16} {:<8} {:<26} {:<26} {}",
                    k.name,
                    k.id,
                    state,
                    k.created_at.to_rfc3339(),
                    used,
                    k.scopes.join(" ")
                );
            }
        }
        AdminKeysCommand::Revoke { name } => {
            if !store.revoke_admin_key(&name, now).await? {
                anyhow::bail!("no live admin key is named {name}");
            }
            println!("revoked admin key {name}");
        }
    }
    Ok(())
}
