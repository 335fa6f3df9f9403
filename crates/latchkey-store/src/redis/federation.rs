//! Provider identities, sign-in records and logout `jti`s go to the
//! durable store alone: a `jti` is used once across nodes by the store's
//! single `INSERT … ON CONFLICT DO NOTHING`, and ending what a logout
//! names goes through the hand-written session and family paths, which
//! announce the revocations.

use latchkey_core::{Timestamp, UserId};

use super::RedisCached;
use crate::federation::{FederatedLogin, Federation, LinkedIdentity};
use crate::{Result, User};

wrap! {
    impl Federation {
        pass {
            fn link_identity(&self, identity: &LinkedIdentity) -> Result<()>;
            fn create_federated_user(&self, user: &User, identity: &LinkedIdentity) -> Result<()>;
            fn identity_by_subject(
                &self,
                provider: &str,
                subject: &str,
            ) -> Result<Option<LinkedIdentity>>;
            fn identities_of(&self, user: UserId) -> Result<Vec<LinkedIdentity>>;
            fn unlink_identity(&self, id: &str, owner: UserId) -> Result<bool>;
            fn record_federated_login(&self, login: &FederatedLogin) -> Result<()>;
            fn federated_logins(
                &self,
                provider: &str,
                subject: Option<&str>,
                sid: Option<&str>,
                now: Timestamp,
            ) -> Result<Vec<FederatedLogin>>;
            fn use_logout_token(
                &self,
                provider: &str,
                jti: &str,
                expires_at: Timestamp,
            ) -> Result<bool>;
            fn sweep_federation(&self, now: Timestamp) -> Result<u64>;
        }
    }
}
