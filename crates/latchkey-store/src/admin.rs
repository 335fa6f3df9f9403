//! What operators manage: admin API keys (stored as hashes), and users as
//! an operator sees them (listed page by page, disabled, deleted).
//!
//! Disabling and deleting end every session and refresh family of the user
//! and record a per-user not-before, in the same transaction as the change:
//! the revocation path of "log out everywhere".

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use crate::{Ended, Result, RevokeAt, User};

/// A stored admin key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminKeyRecord {
    /// Public id (shown in listings and recorded with what the key did).
    pub id: String,
    /// Unique among live keys.
    pub name: String,
    /// SHA-256 of the key.
    pub key_hash: Vec<u8>,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// One page of the user listing, ordered by username.
#[derive(Clone, Copy, Debug)]
pub struct UserQuery<'a> {
    /// Only usernames containing this (case-insensitive).
    pub search: Option<&'a str>,
    /// Only usernames after this one (the previous page's last).
    pub after: Option<&'a str>,
    pub limit: u32,
}

#[async_trait]
pub trait Admin: Send + Sync {
    /// Stores a new key; `Conflict` if a live key has its name.
    async fn create_admin_key(&self, key: &AdminKeyRecord) -> Result<()>;
    /// The live (unrevoked) key with this hash.
    async fn admin_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<AdminKeyRecord>>;
    /// Every key, revoked ones too, oldest first.
    async fn admin_keys(&self) -> Result<Vec<AdminKeyRecord>>;
    /// Revokes the live key named `name`; `false` if there is none.
    async fn revoke_admin_key(&self, name: &str, at: Timestamp) -> Result<bool>;
    /// Records a use of the key (at most once a minute is enough).
    async fn touch_admin_key(&self, id: &str, at: Timestamp) -> Result<()>;
    /// A page of users.
    async fn list_users(&self, query: UserQuery<'_>) -> Result<Vec<User>>;
    /// Disables the user (ending everything they hold, as "log out
    /// everywhere") or enables them again. `None` if there is no such user.
    async fn set_user_disabled(
        &self,
        user: UserId,
        disabled: bool,
        at: RevokeAt<'_>,
    ) -> Result<Option<Ended>>;
    /// Deletes the user with everything they own, recording the
    /// revocations of their sessions, families and access tokens first.
    /// `None` if there is no such user.
    async fn delete_user(&self, user: UserId, at: RevokeAt<'_>) -> Result<Option<Ended>>;
}
