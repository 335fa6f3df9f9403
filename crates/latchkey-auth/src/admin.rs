//! What operators do, through the admin API and the CLI: admin keys (made
//! here, shown once, stored as a SHA-256 hash, each with scopes), creating,
//! disabling and deleting users.
//!
//! **Invariant:** an admin key is a credential of its own: nothing a user
//! holds (session, bearer or hybrid) is ever an admin key, and an admin key
//! is never accepted where a user's credential is expected (the prefix
//! tells them apart before any lookup).

use crate::audit::kind;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::{Password, Timestamp, UserId, Username, sha256};
use latchkey_store::{AdminKeyRecord, Ended, Store, StoreError, User};
use zeroize::Zeroizing;

use crate::error::AuthError;
use crate::password_change::{capitalise, policy_error};
use crate::random;
use crate::service::AuthService;

/// Every scope an admin key can carry; a key made without `--scope` has
/// them all.
pub const SCOPES: [&str; 5] = [
    "users:read",
    "users:write",
    "sessions:write",
    "keys:write",
    "events:read",
];

/// What every admin key starts with (and no user credential does).
pub const KEY_PREFIX: &str = "lk_admin_";

/// A key just made: its record, and the key itself, shown this once.
pub struct NewAdminKey {
    pub record: AdminKeyRecord,
    pub key: Zeroizing<String>,
}

/// `scopes` checked against [`SCOPES`]; none means all of them.
pub fn parse_scopes(scopes: &[String]) -> Result<Vec<String>, AuthError> {
    if scopes.is_empty() {
        return Ok(SCOPES.iter().map(|s| (*s).to_owned()).collect());
    }
    let mut out: Vec<String> = Vec::new();
    for s in scopes {
        if !SCOPES.contains(&s.as_str()) {
            return Err(AuthError::Invalid {
                code: "invalid_scope",
                detail: format!("Unknown scope `{s}`; scopes are {}.", SCOPES.join(", ")),
            });
        }
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// A key name: 1–64 of `a-z A-Z 0-9 . _ -`.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Makes an admin key named `name` with `scopes` (none: every scope), at
/// `now`. The key is in the answer only: the store keeps its hash.
pub async fn create_admin_key(
    store: &dyn Store,
    now: Timestamp,
    name: &str,
    scopes: &[String],
) -> Result<NewAdminKey, AuthError> {
    if !valid_name(name) {
        return Err(AuthError::Invalid {
            code: "invalid_name",
            detail: "A key name is 1-64 of a-z A-Z 0-9 . _ -".into(),
        });
    }
    let scopes = parse_scopes(scopes)?;
    let key = Zeroizing::new(format!(
        "{KEY_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(random::<32>()?)
    ));
    let record = AdminKeyRecord {
        id: format!("ak_{}", URL_SAFE_NO_PAD.encode(random::<9>()?)),
        name: name.to_owned(),
        key_hash: sha256(key.as_bytes()).to_vec(),
        scopes,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    match store.create_admin_key(&record).await {
        Ok(()) => Ok(NewAdminKey { record, key }),
        Err(StoreError::Conflict(_)) => Err(AuthError::Invalid {
            code: "admin_key_exists",
            detail: format!("A live admin key is named `{name}`."),
        }),
        Err(e) => Err(e.into()),
    }
}

impl AuthService {
    /// The live key `presented` is, or `InvalidAdminKey`. The lookup is by
    /// the key's hash (a key carries 256 random bits); a use is recorded
    /// at most once a minute.
    pub async fn admin_key(&self, presented: &str) -> Result<AdminKeyRecord, AuthError> {
        if !presented.starts_with(KEY_PREFIX) || presented.len() > 128 {
            return Err(AuthError::InvalidAdminKey);
        }
        let hash = sha256(presented.as_bytes());
        let key = self
            .store
            .admin_key_by_hash(&hash)
            .await?
            .ok_or(AuthError::InvalidAdminKey)?;
        let now = self.clock.now();
        let stale = key
            .last_used_at
            .is_none_or(|t| t.until(now) >= std::time::Duration::from_secs(60));
        if stale {
            self.store.touch_admin_key(&key.id, now).await?;
        }
        Ok(key)
    }

    /// Creates an account; without a password it has no way in until one
    /// is set or another way in is added. With `email`, the address is
    /// recorded unverified and mailed a verification link.
    pub async fn create_account(
        &self,
        username: &str,
        password: Option<String>,
        email: Option<&str>,
    ) -> Result<User, AuthError> {
        let username = Username::parse(username).map_err(|e| AuthError::Invalid {
            code: "invalid_username",
            detail: capitalise(&e.to_string()),
        })?;
        let password_hash = match password {
            Some(p) => {
                let p = Password::new_for(p, &username).map_err(policy_error)?;
                Some(self.passwords.hash(p).await?)
            }
            None => None,
        };
        let user = User {
            id: UserId::from_random(random()?),
            username,
            password_hash,
            created_at: self.clock.now(),
            disabled_at: None,
        };
        let created = match email {
            Some(email) => match self.create_user_with_email(&user, email).await {
                Err(AuthError::Store(StoreError::Conflict(_))) => Err(StoreError::Conflict("")),
                Err(e) => return Err(e),
                Ok(()) => Ok(()),
            },
            None => self.store.create_user(&user).await,
        };
        match created {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(AuthError::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Disables `user` (ending every session, refresh family and access
    /// token at once) or enables them again.
    pub async fn set_disabled(&self, user: UserId, disabled: bool) -> Result<Ended, AuthError> {
        let event = if disabled {
            kind::USER_DISABLED
        } else {
            kind::USER_ENABLED
        };
        let describe = self.describe(event, Some(user), |ended| {
            Some(serde_json::json!({ "sessions_ended": ended.sessions.len() }))
        });
        let ended = self
            .store
            .set_user_disabled(user, disabled, self.revoke_at().recording(&describe))
            .await?
            .ok_or(AuthError::UnknownUser)?;
        tracing::warn!(user_id = %user, disabled, "account disabled state changed by an operator");
        self.log_change(&describe, &ended);
        Ok(ended)
    }

    /// Deletes `user`, ending everything they held first, and records
    /// `admin.user_deleted` with `detail` in the same transaction.
    pub async fn delete_account(
        &self,
        user: UserId,
        detail: serde_json::Value,
    ) -> Result<Ended, AuthError> {
        let describe = self.describe(kind::USER_DELETED, Some(user), move |_| {
            Some(detail.clone())
        });
        let ended = self
            .store
            .delete_user(user, self.revoke_at().recording(&describe))
            .await?
            .ok_or(AuthError::UnknownUser)?;
        tracing::warn!(user_id = %user, "account deleted by an operator");
        self.log_change(&describe, &ended);
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_scope_means_every_scope_and_unknown_ones_are_refused() {
        assert_eq!(parse_scopes(&[]).unwrap_or_default().len(), SCOPES.len());
        let one = parse_scopes(&["users:read".into(), "users:read".into()]);
        assert_eq!(one.unwrap_or_default(), ["users:read"]);
        assert!(matches!(
            parse_scopes(&["users:admin".into()]),
            Err(AuthError::Invalid {
                code: "invalid_scope",
                ..
            })
        ));
    }

    #[test]
    fn key_names_are_short_and_plain() {
        assert!(valid_name("ops-backoffice_1.0"));
        assert!(!valid_name(""));
        assert!(!valid_name("with space"));
        assert!(!valid_name(&"x".repeat(65)));
    }
}
