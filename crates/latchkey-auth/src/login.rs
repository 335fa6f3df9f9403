//! Checking a username and password, with throttling. Shared by every way
//! of logging in (and by the password change, which re-checks the current
//! password).
//!
//! Order matters: the throttle is consulted *before* any hash is computed,
//! so a locked-out flood costs a store read, not an argon2 run; unknown
//! users, malformed usernames and over-long passwords go through the same
//! dummy verification as wrong passwords, so timing says nothing about
//! which accounts exist.

use std::net::IpAddr;

use latchkey_core::throttle::{self, Decision};
use latchkey_core::{Password, Username};
use latchkey_store::User;

use crate::error::AuthError;
use crate::principal::{Authentication, Method, Principal};
use crate::service::AuthService;

impl AuthService {
    /// One password step: a principal (`amr` = `pwd`), or, once an account
    /// can require a second factor, a challenge that names it.
    pub async fn authenticate(
        &self,
        address: Option<IpAddr>,
        username: &str,
        password: String,
    ) -> Result<Authentication, AuthError> {
        let user = self.check_password(address, username, password).await?;
        Ok(Authentication::Principal(Principal::new(
            user,
            vec![Method::Password],
            self.clock.now(),
        )))
    }

    /// Verifies `username`/`password` from `address`. An account without
    /// a password is checked against the dummy hash and refused exactly
    /// like a wrong password (same cost, same error). Every attempt is
    /// counted against the account and the address *before* the password
    /// is checked (so concurrent guesses cannot overrun the limit); a
    /// success then clears the account's count and takes its own attempt
    /// back from the address's.
    pub async fn check_password(
        &self,
        address: Option<IpAddr>,
        username: &str,
        password: String,
    ) -> Result<User, AuthError> {
        let username = Username::parse(username).ok();
        let keys = throttle_keys(username.as_ref(), address);
        self.count_attempt(&keys).await?;
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
        let Some(user) = user.filter(|_| ok) else {
            return Err(AuthError::InvalidCredentials);
        };
        if let Some(account) = &keys.account {
            self.store.clear_failures(account).await?;
        }
        if let Some(address) = &keys.address {
            self.store.forgive_failure(address).await?;
        }
        if user
            .password_hash
            .as_ref()
            .is_some_and(latchkey_core::PasswordHash::needs_rehash)
        {
            let fresh = self.passwords.hash(Password::presented(password)).await?;
            self.store.rehash_password(user.id, &fresh).await?;
        }
        Ok(user)
    }

    /// Counts this attempt for each key, atomically in the store, and
    /// refuses it if that takes a key over its limit.
    async fn count_attempt(&self, keys: &Keys) -> Result<(), AuthError> {
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

struct Keys {
    account: Option<String>,
    address: Option<String>,
}

fn throttle_keys(username: Option<&Username>, address: Option<IpAddr>) -> Keys {
    Keys {
        account: username.map(throttle::account_key),
        address: address.map(throttle::address_key),
    }
}
