//! Sign-in through OpenID Connect providers: identities linked to users,
//! the latchkey sessions and refresh families each provider sign-in
//! started (so a back-channel logout can end them), and the `jti`s of the
//! logout tokens already used. A pending authorisation (state → nonce,
//! PKCE verifier, …) is a [`Ceremony`](crate::Ceremony) of kind `oidc`:
//! taken once, on any node, before it expires.

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use crate::{Result, User};

/// A provider identity (`iss` as the configured provider name, `sub`)
/// linked to a user. `(provider, subject)` is unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedIdentity {
    /// Public id (in URLs).
    pub id: String,
    pub user_id: UserId,
    pub provider: String,
    pub subject: String,
    /// The address the provider gave, shown only: never used to link.
    pub email: Option<String>,
    pub created_at: Timestamp,
}

/// A latchkey credential started by a provider sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedLogin {
    pub provider: String,
    pub subject: String,
    /// The provider's session (`sid` of the ID token), if it sent one.
    pub sid: Option<String>,
    /// The latchkey session's handle, or
    pub session: Option<String>,
    /// the refresh family's id.
    pub family: Option<String>,
    /// When the credential ends anyway; the record is swept after.
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait Federation: Send + Sync {
    /// Links `identity`; `Conflict` if that provider identity is linked
    /// already (to anyone).
    async fn link_identity(&self, identity: &LinkedIdentity) -> Result<()>;
    /// Creates `user` and links `identity` to it in one transaction:
    /// `Conflict("username taken")` or `Conflict("identity already
    /// linked")`, and then nothing is written.
    async fn create_federated_user(&self, user: &User, identity: &LinkedIdentity) -> Result<()>;
    async fn identity_by_subject(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<LinkedIdentity>>;
    /// The user's identities, oldest first.
    async fn identities_of(&self, user: UserId) -> Result<Vec<LinkedIdentity>>;
    /// Unlinks identity `id` if `owner` owns it; whether it did.
    async fn unlink_identity(&self, id: &str, owner: UserId) -> Result<bool>;
    async fn record_federated_login(&self, login: &FederatedLogin) -> Result<()>;
    /// Unexpired credentials started through `provider` for `subject`
    /// (when given) and provider session `sid` (when given).
    async fn federated_logins(
        &self,
        provider: &str,
        subject: Option<&str>,
        sid: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<FederatedLogin>>;
    /// Records a logout token's `jti` until `expires_at`: `true` the first
    /// time, `false` for a replay (on any node, concurrent or not).
    async fn use_logout_token(
        &self,
        provider: &str,
        jti: &str,
        expires_at: Timestamp,
    ) -> Result<bool>;
    /// Forgets expired login records and logout `jti`s.
    async fn sweep_federation(&self, now: Timestamp) -> Result<u64>;
}
