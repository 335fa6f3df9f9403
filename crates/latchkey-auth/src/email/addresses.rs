//! Setting, changing and verifying a user's address.

use latchkey_core::{UserId, Username};
use latchkey_store::{Address, StoreError, TokenKind, User, address_key};

use super::{Kind, VERIFY_TTL, new_token, parse_address, token_hash};
use crate::error::AuthError;
use crate::service::AuthService;

/// An address change as asked by a signed-in user.
pub struct AddressChange<'a> {
    pub user: UserId,
    pub email: &'a str,
    /// Whether the caller signed in recently (a change of an existing
    /// address needs it).
    pub recent: bool,
}

impl AuthService {
    /// Creates `user` with `email` (unverified) and mails it a
    /// verification link. `EmailTaken` or a store conflict for the
    /// username, and then nothing is stored.
    pub async fn create_user_with_email(&self, user: &User, email: &str) -> Result<(), AuthError> {
        self.email_settings()?;
        let email = parse_address(email)?;
        let address = Address {
            email: email.clone(),
            verified: false,
        };
        match self.store.create_user_with_address(user, &address).await {
            Err(StoreError::Conflict("email taken")) => return Err(AuthError::EmailTaken),
            other => other?,
        }
        self.mail_verification(user.id, &user.username, &email)
            .await
    }

    /// Sets the caller's address (unverified) and mails it a verification
    /// link; replacing another address needs a recent sign-in, and the old
    /// address is told. The same address again only resends the link.
    pub async fn change_email(&self, change: AddressChange<'_>) -> Result<(), AuthError> {
        self.email_settings()?;
        let email = parse_address(change.email)?;
        let user = self
            .store
            .user_by_id(change.user)
            .await?
            .ok_or(AuthError::UnknownUser)?;
        let old = self.store.address_of(user.id).await?;
        let same = old
            .as_ref()
            .is_some_and(|o| address_key(&o.email) == address_key(&email));
        if old.is_some() && !same && !change.recent {
            return Err(AuthError::ReauthenticationRequired);
        }
        if same && old.as_ref().is_some_and(|o| o.verified && o.email == email) {
            return Ok(());
        }
        self.admit_recipient(&email).await?;
        let address = Address {
            email: email.clone(),
            verified: false,
        };
        match self.store.set_address(user.id, Some(&address)).await {
            Err(StoreError::Conflict("email taken")) => return Err(AuthError::EmailTaken),
            Ok(false) => return Err(AuthError::UnknownUser),
            other => other.map(drop)?,
        }
        tracing::info!(user_id = %user.id, "e-mail address set");
        if let Some(old) = old.filter(|_| !same) {
            let vars = [
                ("username", user.username.as_str()),
                ("email", email.as_str()),
            ];
            self.queue_mail(&old.email, Kind::AddressChanged, &vars)
                .await?;
        }
        self.mail_verification(user.id, &user.username, &email)
            .await
    }

    /// Mails `email` a fresh verification link for `user`.
    async fn mail_verification(
        &self,
        user: UserId,
        username: &Username,
        email: &str,
    ) -> Result<(), AuthError> {
        let (token, hash) = new_token()?;
        self.put_token(TokenKind::Verify, user, email, &hash, VERIFY_TTL)
            .await?;
        let link = format!("{}/verify?token={token}", self.email_settings()?.origin);
        let hours = (VERIFY_TTL.as_secs() / 3600).to_string();
        let vars = [
            ("username", username.as_str()),
            ("email", email),
            ("link", link.as_str()),
            ("hours", hours.as_str()),
        ];
        self.queue_mail(email, Kind::Verify, &vars).await
    }

    /// Verifies the address a link was sent to, if it is still the user's
    /// address: the user, or `InvalidLink` (unknown, used, expired, or the
    /// address changed since).
    pub async fn verify_email(&self, token: &str) -> Result<UserId, AuthError> {
        self.email_settings()?;
        let hash = token_hash(token).ok_or(AuthError::InvalidLink)?;
        let now = self.clock.now();
        let taken = self
            .store
            .take_email_token(&hash, TokenKind::Verify, now)
            .await?
            .ok_or(AuthError::InvalidLink)?;
        if !self
            .store
            .mark_address_verified(taken.user_id, &taken.email)
            .await?
        {
            return Err(AuthError::InvalidLink);
        }
        tracing::info!(user_id = %taken.user_id, "e-mail address verified");
        Ok(taken.user_id)
    }
}
