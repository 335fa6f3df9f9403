//! Password reset by a link mailed to a verified address.

use latchkey_core::Password;
use latchkey_core::throttle;
use latchkey_store::{Ended, Keep, TokenKind};

use super::{Kind, RESET_TTL, new_token, token_hash};
use crate::audit::ended_counts;
use crate::audit::kind::PASSWORD_RESET;
use crate::error::AuthError;
use crate::password_change::policy_error;
use crate::service::AuthService;
use crate::sessions::EndSessions;

impl AuthService {
    /// Mails a reset link if `email` is a known, verified address (the
    /// worker's side of `POST /v1/password/forgot`); nothing otherwise.
    pub(crate) async fn mail_reset_link(&self, email: &str) -> Result<(), AuthError> {
        let Some((user, address)) = self.store.user_by_address(email).await? else {
            return Ok(());
        };
        if !address.verified || user.disabled_at.is_some() {
            return Ok(());
        }
        self.admit_recipient(&address.email).await?;
        let (token, hash) = new_token()?;
        self.put_token(TokenKind::Reset, user.id, &address.email, &hash, RESET_TTL)
            .await?;
        let link = format!("{}/reset?token={token}", self.email_settings()?.origin);
        let minutes = (RESET_TTL.as_secs() / 60).to_string();
        let vars = [
            ("username", user.username.as_str()),
            ("email", address.email.as_str()),
            ("link", link.as_str()),
            ("minutes", minutes.as_str()),
        ];
        self.queue_mail(&address.email, Kind::Reset, &vars).await
    }

    /// Sets a new password with a reset link's token: the token is spent,
    /// and every session, refresh family and access token of the user ends
    /// (as "log out everywhere"); a notice is mailed. A new password the
    /// policy refuses leaves the token usable.
    pub async fn reset_password(&self, token: &str, new: String) -> Result<Ended, AuthError> {
        self.email_settings()?;
        let hash = token_hash(token).ok_or(AuthError::InvalidLink)?;
        let now = self.clock.now();
        let taken = self
            .store
            .take_email_token(&hash, TokenKind::Reset, now)
            .await?
            .ok_or(AuthError::InvalidLink)?;
        let user = self
            .store
            .user_by_id(taken.user_id)
            .await?
            .filter(|u| u.disabled_at.is_none())
            .ok_or(AuthError::InvalidLink)?;
        let password = match Password::new_for(new, &user.username) {
            Ok(p) => p,
            Err(e) => {
                // Put the link back as it was: only a completed reset spends it.
                self.store.put_email_token(&hash, &taken).await?;
                return Err(policy_error(e));
            }
        };
        let hashed = self.passwords.hash(password).await?;
        let describe = self.describe(PASSWORD_RESET, Some(user.id), |ended| {
            Some(ended_counts(ended))
        });
        let at = self.revoke_at().recording(&describe);
        let mut ended = self
            .store
            .replace_password(user.id, &hashed, Keep::default(), at)
            .await?;
        self.log_change(&describe, &ended);
        let everywhere = self.end_sessions(EndSessions::Everywhere(user.id)).await?;
        ended.sessions.extend(everywhere.sessions);
        ended.families.extend(everywhere.families);
        ended.revocations.extend(everywhere.revocations);
        // The account's failed-login count no longer guards anything.
        self.store
            .clear_failures(&throttle::account_key(&user.username))
            .await?;
        tracing::info!(
            user_id = %user.id,
            sessions_ended = ended.sessions.len(),
            families_revoked = ended.families.len(),
            "password reset"
        );
        let vars = [("username", user.username.as_str())];
        self.queue_mail(&taken.email, Kind::PasswordReset, &vars)
            .await?;
        Ok(ended)
    }
}
