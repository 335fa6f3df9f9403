//! Checking a username and password, with throttling. Shared by every way
//! of logging in (and by the password change, which re-checks the current
//! password).
//!
//! Order matters: the throttle is consulted *before* any hash is computed,
//! so a locked-out flood costs a store read, not an argon2 run; unknown
//! users, malformed usernames and over-long passwords go through the same
//! dummy verification as wrong passwords, so timing says nothing about
//! which accounts exist.

use crate::audit::kind;
use std::net::IpAddr;

use latchkey_core::throttle::{self, Decision};
use latchkey_core::{Password, Username};
use latchkey_store::User;

use crate::error::AuthError;
use crate::principal::{Authentication, Challenge, Method, Principal};
use crate::service::AuthService;

impl AuthService {
    /// One password step: a principal (`amr` = `pwd`), or, for an account
    /// with an active second factor, a challenge naming the methods that
    /// can complete it. The attempt of a challenged login stays counted
    /// by the throttle until its second step succeeds, so a stolen
    /// password buys no fresh guesses at the second factor.
    pub async fn authenticate(
        &self,
        address: Option<IpAddr>,
        username: &str,
        password: String,
    ) -> Result<Authentication, AuthError> {
        let (user, keys) = self.verify_password(address, username, password).await?;
        let accepts = self.second_factors_of(user.id).await?;
        if !accepts.is_empty() {
            return Ok(Authentication::Challenge(Challenge {
                user_id: user.id,
                token: None,
                passed: vec![Method::Password],
                accepts,
            }));
        }
        self.settle(&keys).await?;
        Ok(Authentication::Principal(Principal::new(
            user,
            vec![Method::Password],
            self.clock.now(),
        )))
    }

    /// Verifies `username`/`password` from `address` (see
    /// [`verify_password`](Self::verify_password)) and, on success, clears
    /// the account's count and takes this attempt back from the address's.
    pub async fn check_password(
        &self,
        address: Option<IpAddr>,
        username: &str,
        password: String,
    ) -> Result<User, AuthError> {
        let (user, keys) = self.verify_password(address, username, password).await?;
        self.settle(&keys).await?;
        Ok(user)
    }

    /// Verifies `username`/`password` from `address`. Every attempt is
    /// counted against the account and the address *before* the password
    /// is checked (so concurrent guesses cannot overrun the limit).
    async fn verify_password(
        &self,
        address: Option<IpAddr>,
        username: &str,
        password: String,
    ) -> Result<(User, Keys), AuthError> {
        let username = Username::parse(username).ok();
        let keys = throttle_keys(username.as_ref(), address);
        if let Err(e) = self.count_attempt(&keys).await {
            if matches!(e, AuthError::RateLimited { .. }) {
                let detail = serde_json::json!({ "method": "password" });
                self.audit(kind::LOGIN_RATE_LIMITED, None, detail).await;
            }
            return Err(e);
        }
        let user = match &username {
            Some(name) => self.store.user_by_name(name).await?,
            None => None,
        };
        // A password longer than any the policy accepts cannot match; it is
        // still "verified" (against the dummy) so that it costs the same.
        let plausible = password.chars().count() <= Password::MAX_CHARS;
        let hash = user
            .as_ref()
            .filter(|_| plausible)
            .and_then(|u| u.password_hash.clone());
        let ok = self
            .passwords
            .verify(hash, Password::presented(password.clone()))
            .await?;
        // A disabled account fails exactly like a wrong password, after the
        // same hash.
        let known = user.as_ref().map(|u| (u.id, u.disabled_at.is_some()));
        let Some(user) = user.filter(|u| ok && u.disabled_at.is_none()) else {
            let detail = serde_json::json!({
                "method": "password",
                "disabled": known.is_some_and(|(_, disabled)| disabled),
            });
            self.audit(kind::LOGIN_FAILED, known.map(|(id, _)| id), detail)
                .await;
            return Err(AuthError::InvalidCredentials);
        };
        if user
            .password_hash
            .as_ref()
            .is_some_and(latchkey_core::PasswordHash::needs_rehash)
        {
            let fresh = self.passwords.hash(Password::presented(password)).await?;
            self.store.rehash_password(user.id, &fresh).await?;
        }
        Ok((user, keys))
    }

    /// A login succeeded: the account's count is cleared and the address
    /// gets this attempt back.
    pub(crate) async fn settle(&self, keys: &Keys) -> Result<(), AuthError> {
        if let Some(account) = &keys.account {
            self.store.clear_failures(account).await?;
        }
        if let Some(address) = &keys.address {
            self.store.forgive_failure(address).await?;
        }
        Ok(())
    }

    /// Counts this attempt for each key, atomically in the store, and
    /// refuses it if that takes a key over its limit.
    pub(crate) async fn count_attempt(&self, keys: &Keys) -> Result<(), AuthError> {
        let limits = self.policy.login_limits;
        let now = self.clock.now();
        let checks = [
            (keys.account.as_ref(), limits.per_account),
            (keys.address.as_ref(), limits.per_address),
        ];
        let mut refused = None;
        for (key, limit) in checks {
            let Some(key) = key else { continue };
            let window = self.store.record_failure(key, limits.window, now).await?;
            if let Decision::Limited { retry_after } =
                throttle::admit(window, limit, limits.window, now)
            {
                let longest =
                    refused.map_or(retry_after, |r: std::time::Duration| r.max(retry_after));
                refused = Some(longest);
            }
        }
        match refused {
            Some(retry_after) => Err(AuthError::RateLimited { retry_after }),
            None => Ok(()),
        }
    }
}

pub(crate) struct Keys {
    account: Option<String>,
    address: Option<String>,
}

pub(crate) fn throttle_keys(username: Option<&Username>, address: Option<IpAddr>) -> Keys {
    Keys {
        account: username.map(throttle::account_key),
        address: address.map(throttle::address_key),
    }
}
