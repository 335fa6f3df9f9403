//! Group membership goes to the durable store alone.

use latchkey_core::UserId;

use super::RedisCached;
use crate::Result;
use crate::groups::Groups;

wrap! {
    impl Groups {
        pass {
            fn add_to_group(&self, user: UserId, group: &str) -> Result<bool>;
            fn remove_from_group(&self, user: UserId, group: &str) -> Result<bool>;
            fn groups_of(&self, user: UserId) -> Result<Vec<String>>;
        }
    }
}
