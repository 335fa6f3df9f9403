//! Passkeys (WebAuthn credentials) and the WebAuthn ceremonies in progress.
//!
//! The store keeps what `webauthn-rs` serializes (a passkey: credential id
//! and public key; a ceremony: its challenge and options) as opaque text;
//! it interprets only the columns beside it: the owner, the sign counter
//! and backup flags, and a ceremony's kind and expiry.

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use crate::Result;

/// A registered passkey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyRecord {
    /// Public id (in URLs).
    pub id: String,
    pub user_id: UserId,
    /// The WebAuthn credential id; unique across all users.
    pub credential_id: Vec<u8>,
    /// A name its owner gave it.
    pub name: String,
    /// `webauthn-rs`'s serialized `Passkey` (public material only).
    pub passkey: String,
    /// The authenticator's signature counter at the last use (0: none kept).
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// What one successful use of a passkey leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyUse {
    /// The serialized `Passkey` with its counter and flags updated.
    pub passkey: String,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub at: Timestamp,
}

/// A WebAuthn ceremony waiting for the client's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ceremony {
    /// SHA-256 (hex) of the challenge id the client holds.
    pub id: String,
    /// What it is for (`register`, `login`, …): a ceremony is only ever
    /// taken as the kind it was started as.
    pub kind: String,
    /// The user it belongs to, when one is known at the start.
    pub user_id: Option<UserId>,
    /// `webauthn-rs`'s serialized state.
    pub state: String,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait Passkeys: Send + Sync {
    /// Stores a new passkey; `Conflict` if its credential id is registered
    /// already (to anyone).
    async fn add_passkey(&self, passkey: &PasskeyRecord) -> Result<()>;
    /// The user's passkeys, oldest first.
    async fn passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyRecord>>;
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>>;
    /// Records a use of passkey `id`, atomically refusing it (`false`,
    /// nothing written) unless its counter moved forward from the stored
    /// one (or both are 0: an authenticator that keeps no counter). Two
    /// nodes finishing sign-ins with one counter value: one wins.
    async fn record_passkey_use(&self, id: &str, used: &PasskeyUse) -> Result<bool>;
    /// Deletes passkey `id` if `owner` owns it; whether it did.
    async fn delete_passkey(&self, id: &str, owner: UserId) -> Result<bool>;
    /// Stores a ceremony unless `limit` unexpired ones exist already
    /// (`false`: refused, nothing stored).
    async fn put_ceremony(&self, ceremony: &Ceremony, limit: u64, now: Timestamp) -> Result<bool>;
    /// Takes (deletes and returns) the unexpired ceremony `id` of `kind`:
    /// at most one caller, on any node, ever gets it.
    async fn take_ceremony(&self, id: &str, kind: &str, now: Timestamp)
    -> Result<Option<Ceremony>>;
    /// Deletes ceremonies that expired at or before `now`.
    async fn sweep_ceremonies(&self, now: Timestamp) -> Result<u64>;
}
