//! Admin keys and the user listing go to the durable store alone;
//! disabling and deleting a user also drop the user's cached sessions and
//! note the revocations, as "log out everywhere" does.

use latchkey_core::{Timestamp, UserId};

use super::RedisCached;
use crate::admin::{Admin, AdminKeyRecord, UserQuery};
use crate::{Ended, Result, RevokeAt, Store, User};

wrap! {
    impl Admin {
        pass {
            fn create_admin_key(&self, key: &AdminKeyRecord) -> Result<()>;
            fn admin_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<AdminKeyRecord>>;
            fn admin_keys(&self) -> Result<Vec<AdminKeyRecord>>;
            fn revoke_admin_key(&self, name: &str, at: Timestamp) -> Result<bool>;
            fn touch_admin_key(&self, id: &str, at: Timestamp) -> Result<()>;
            fn list_users(&self, query: UserQuery<'_>) -> Result<Vec<User>>;
        }

        async fn set_user_disabled(
            &self,
            user: UserId,
            disabled: bool,
            at: RevokeAt<'_>,
        ) -> Result<Option<Ended>> {
            let result = self.inner.set_user_disabled(user, disabled, at).await;
            self.forget(user, &result).await;
            result
        }

        async fn delete_user(&self, user: UserId, at: RevokeAt<'_>) -> Result<Option<Ended>> {
            let result = self.inner.delete_user(user, at).await;
            self.forget(user, &result).await;
            result
        }
    }
}

impl<S: Store + ?Sized> RedisCached<S> {
    async fn forget(&self, user: UserId, result: &Result<Option<Ended>>) {
        self.cache.forget_user(user).await;
        if let Ok(Some(ended)) = result {
            self.revoked(&ended.revocations);
        }
    }
}
