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

/// Verifies `username`/`password` for `client`. Counts a failure against
/// the account and the address; clears the account's count on success.
pub async fn authenticate(
    state: &AppState,
    client: &Client,
    username: &str,
    password: String,
) -> Result<User, ApiError> {
    let username = Username::parse(username).ok();
    let keys = throttle_keys(username.as_ref(), client);
    if let Err(e) = check_limits(state, &keys).await {
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
        record_failure(state, &keys).await?;
        state.metrics.login("invalid_credentials");
        return Err(ApiError::InvalidCredentials);
    };
    if let Some(account) = &keys.account {
        state.store.clear_failures(account).await?;
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

async fn check_limits(state: &AppState, keys: &Keys) -> Result<(), ApiError> {
    let limits = state.settings.login_limits;
    let now = state.clock.now();
    let checks = [
        (keys.account.as_ref(), limits.per_account),
        (keys.address.as_ref(), limits.per_address),
    ];
    for (key, limit) in checks {
        let Some(key) = key else { continue };
        let window = state.store.failures(key).await?;
        if let Decision::Limited { retry_after } =
            throttle::decide(window, limit, limits.window, now)
        {
            return Err(ApiError::RateLimited { retry_after });
        }
    }
    Ok(())
}

async fn record_failure(state: &AppState, keys: &Keys) -> Result<(), ApiError> {
    let window = state.settings.login_limits.window;
    let now = state.clock.now();
    for key in [&keys.account, &keys.address].into_iter().flatten() {
        state.store.record_failure(key, window, now).await?;
    }
    Ok(())
}
