//! One module per resource. Handlers extract, call one piece of logic, and
//! map the result.

pub mod accounts;
pub mod cookie;
pub mod email;
pub mod identities;
pub mod me;
pub mod mfa;
pub mod mfa_passkey;
pub mod oidc;
pub mod ops;
pub mod passkeys;
pub mod revocations;
mod revocations_sse;
pub mod sessions;
pub mod token_endpoints;
pub mod verify;
pub mod webauthn_json;

use serde::Serialize;

/// A user as shown to clients.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
}

impl UserView {
    pub fn new(id: latchkey_core::UserId, username: &latchkey_core::Username) -> Self {
        Self {
            id: id.to_string(),
            username: username.to_string(),
        }
    }
}

/// Responses that carry credentials or personal data must not be cached.
pub(crate) const NO_STORE: [(axum::http::HeaderName, &str); 1] =
    [(axum::http::header::CACHE_CONTROL, "no-store")];
