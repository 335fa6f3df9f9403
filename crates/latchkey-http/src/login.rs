//! Checking a username and password, with throttling. Shared by every way
//! of logging in (and by the password change, which re-checks the current
//! password).
//!
//! Order matters: the throttle is consulted *before* any hash is computed,
//! so a locked-out flood costs a store read, not an argon2 run; unknown
//! users, malformed usernames and over-long passwords go through the same
//! dummy verification as wrong passwords, so timing says nothing about
//! which accounts exist.

use latchkey_core::throttle::{self, Decision};
use latchkey_core::{Password, Username};
use latchkey_store::User;

use crate::client::Client;
use crate::error::ApiError;
use crate::state::AppState;

/// Verifies `username`/`password` for `client`. Every attempt is counted
/// against the account and the address *before* the password is checked
/// (so concurrent guesses cannot overrun the limit); a success then clears
/// the account's count and takes its own attempt back from the address's.
pub async fn authenticate(
    state: &AppState,
    client: &Client,
    username: &str,
    password: String,
) -> Result<User, ApiError> {
    let username = Username::parse(username).ok();
    let keys = throttle_keys(username.as_ref(), client);
    if let Err(e) = count_attempt(state, &keys).await {
        state.metrics.login("rate_limited");
        return Err(e);
    }
    let user = match &username {
        Some(name) => state.store.user_by_name(name).await?,
        None => None,
    };
    // A password longer than any the policy accepts cannot match; it is
    // still "verified" (against the dummy) so that it costs the same.
    let plausible = password.chars().count() <= Password::MAX_CHARS;
    let hash = user
        .as_ref()
        .filter(|_| plausible)
        .map(|u| u.password_hash.clone());
    let ok = state
        .passwords
        .verify(hash, Password::presented(password.clone()))
        .await?;
    let Some(user) = user.filter(|_| ok) else {
        state.metrics.login("invalid_credentials");
        return Err(ApiError::InvalidCredentials);
    };
    if let Some(account) = &keys.account {
        state.store.clear_failures(account).await?;
    }
    if let Some(address) = &keys.address {
        state.store.forgive_failure(address).await?;
    }
    if user.password_hash.needs_rehash() {
        let fresh = state.passwords.hash(Password::presented(password)).await?;
        state.store.rehash_password(user.id, &fresh).await?;
    }
    state.metrics.login("success");
    Ok(user)
}

struct Keys {
    account: Option<String>,
    address: Option<String>,
}

fn throttle_keys(username: Option<&Username>, client: &Client) -> Keys {
    Keys {
        account: username.map(throttle::account_key),
        address: client.ip.map(throttle::address_key),
    }
}

/// Counts this attempt for each key, atomically in the store, and refuses
/// it if that takes a key over its limit.
async fn count_attempt(state: &AppState, keys: &Keys) -> Result<(), ApiError> {
    let limits = state.settings.login_limits;
    let now = state.clock.now();
    let checks = [
        (keys.account.as_ref(), limits.per_account),
        (keys.address.as_ref(), limits.per_address),
    ];
    let mut refused = None;
    for (key, limit) in checks {
        let Some(key) = key else { continue };
        let window = state.store.record_failure(key, limits.window, now).await?;
        if let Decision::Limited { retry_after } =
            throttle::admit(window, limit, limits.window, now)
        {
            let longest = refused.map_or(retry_after, |r: std::time::Duration| r.max(retry_after));
            refused = Some(longest);
        }
    }
    match refused {
        Some(retry_after) => Err(ApiError::RateLimited { retry_after }),
        None => Ok(()),
    }
}
