//! Passkeys and WebAuthn ceremonies go to the durable store alone: a
//! ceremony must be taken once across nodes, which the store's single
//! `DELETE … RETURNING` already guarantees.

use latchkey_core::{Timestamp, UserId};

use super::RedisCached;
use crate::Result;
use crate::passkeys::{Ceremony, PasskeyRecord, PasskeyUse, Passkeys};

wrap! {
    impl Passkeys {
        pass {
            fn add_passkey(&self, passkey: &PasskeyRecord) -> Result<()>;
            fn passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyRecord>>;
            fn passkey_by_credential(
                &self,
                credential_id: &[u8],
            ) -> Result<Option<PasskeyRecord>>;
            fn record_passkey_use(&self, id: &str, used: &PasskeyUse) -> Result<bool>;
            fn delete_passkey(&self, id: &str, owner: UserId) -> Result<bool>;
            fn put_ceremony(
                &self,
                ceremony: &Ceremony,
                limit: u64,
                now: Timestamp,
            ) -> Result<bool>;
            fn take_ceremony(
                &self,
                id: &str,
                kind: &str,
                now: Timestamp,
            ) -> Result<Option<Ceremony>>;
            fn sweep_ceremonies(&self, now: Timestamp) -> Result<u64>;
        }
    }
}
