//! The HTTP side of checking a password: the use case lives in
//! `latchkey_auth::login`; this adapter counts the outcome in `/metrics`.

use latchkey_auth::AuthError;
use latchkey_store::User;

use crate::client::Client;
use crate::error::ApiError;
use crate::state::AppState;

/// Verifies `username`/`password` for `client` (see
/// [`latchkey_auth::Authenticator::check_password`]).
pub async fn authenticate(
    state: &AppState,
    client: &Client,
    username: &str,
    password: String,
) -> Result<User, ApiError> {
    let outcome = state
        .auth
        .check_password(client.ip, username, password)
        .await;
    match &outcome {
        Ok(_) => state.metrics.login("success"),
        Err(AuthError::RateLimited { .. }) => state.metrics.login("rate_limited"),
        Err(AuthError::InvalidCredentials) => state.metrics.login("invalid_credentials"),
        Err(_) => {}
    }
    Ok(outcome?)
}
