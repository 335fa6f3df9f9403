//! Groups: named sets of users, read by forward auth's access rules and
//! carried in tokens minted for upstreams. A group exists while it has a
//! member; names are validated by the caller.

use async_trait::async_trait;
use latchkey_core::UserId;

use crate::Result;

#[async_trait]
pub trait Groups: Send + Sync {
    /// Adds `user` to `group`; `false` if it was already a member.
    async fn add_to_group(&self, user: UserId, group: &str) -> Result<bool>;
    /// Removes `user` from `group`; `false` if it was not a member.
    async fn remove_from_group(&self, user: UserId, group: &str) -> Result<bool>;
    /// The groups of `user`, sorted by name (byte order).
    async fn groups_of(&self, user: UserId) -> Result<Vec<String>>;
}
