//! Admin calls through [`Circuit::call`].

use latchkey_core::{Timestamp, UserId};

use super::Circuit;
use crate::admin::{Admin, AdminKeyRecord, UserQuery};
use crate::{Ended, Result, RevokeAt, User};

delegate! {
    impl[] Admin for Circuit, via call {
        pass {
            fn create_admin_key(&self, key: &AdminKeyRecord) -> Result<()>;
            fn admin_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<AdminKeyRecord>>;
            fn admin_keys(&self) -> Result<Vec<AdminKeyRecord>>;
            fn revoke_admin_key(&self, name: &str, at: Timestamp) -> Result<bool>;
            fn touch_admin_key(&self, id: &str, at: Timestamp) -> Result<()>;
            fn list_users(&self, query: UserQuery<'_>) -> Result<Vec<User>>;
            fn set_user_disabled(
                &self,
                user: UserId,
                disabled: bool,
                at: RevokeAt<'_>,
            ) -> Result<Option<Ended>>;
            fn delete_user(&self, user: UserId, at: RevokeAt<'_>) -> Result<Option<Ended>>;
        }
    }
}
