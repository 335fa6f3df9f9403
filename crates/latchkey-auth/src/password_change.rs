//! Changing a password: the current one is checked like a login
//! (throttled, counted, constant-cost), the new one against the policy,
//! and every other session and token family of the user ends.

use crate::audit::{ended_counts, kind};
use std::net::IpAddr;

use latchkey_core::{Password, PasswordError, UserId};
use latchkey_store::{Ended, Keep};

use crate::error::AuthError;
use crate::service::AuthService;

/// A password change as asked.
pub struct PasswordChange<'a> {
    pub user: UserId,
    /// Where the request comes from (for the throttle).
    pub address: Option<IpAddr>,
    pub current: String,
    pub new: String,
    /// The credential making the change, which stays.
    pub keep: Keep<'a>,
}

impl AuthService {
    /// Checks `change.current`, sets `change.new`, ends every other
    /// session and family (returned, for this node's denylist) and logs
    /// the change.
    pub async fn change_password(&self, change: PasswordChange<'_>) -> Result<Ended, AuthError> {
        let account = self
            .store
            .user_by_id(change.user)
            .await?
            .ok_or(AuthError::UnknownUser)?;
        let unchanged = change.current == change.new;
        let user = self
            .check_password(change.address, account.username.as_str(), change.current)
            .await?;
        if unchanged {
            return Err(AuthError::Invalid {
                code: "password_unchanged",
                detail: "The new password is the current one; choose another.".into(),
            });
        }
        let new = Password::new_for(change.new, &user.username).map_err(policy_error)?;
        let hash = self.passwords.hash(new).await?;
        let describe = self.describe(kind::PASSWORD_CHANGED, Some(user.id), |ended| {
            Some(ended_counts(ended))
        });
        let at = self.revoke_at().recording(&describe);
        let ended = self
            .store
            .replace_password(user.id, &hash, change.keep, at)
            .await?;
        tracing::info!(
            user_id = %user.id,
            sessions_ended = ended.sessions.len(),
            families_revoked = ended.families.len(),
            "password changed"
        );
        self.log_change(&describe, &ended);
        Ok(ended)
    }
}

/// A password the policy refuses, in the policy's own words.
pub fn policy_error(e: PasswordError) -> AuthError {
    AuthError::Invalid {
        code: "invalid_password",
        detail: capitalise(&e.to_string()),
    }
}

/// A rule's message as a sentence: capitalised, with a full stop.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}
