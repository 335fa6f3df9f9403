//! Second factors and pending logins: nothing of them is cached in Redis.

use latchkey_core::{Timestamp, UserId};

use super::RedisCached;
use crate::{
    Finished, PendingLogin, PendingLogins, Proof, RecoveryState, Result, SecondFactors, TotpFactor,
};

wrap! {
    impl SecondFactors {
        pass {
            fn begin_totp(&self, factor: &TotpFactor) -> Result<bool>;
            fn totp_factor(&self, user: UserId) -> Result<Option<TotpFactor>>;
            fn confirm_totp(
                &self,
                user: UserId,
                step: i64,
                codes: &[[u8; 32]],
                now: Timestamp,
            ) -> Result<bool>;
            fn accept_proof(&self, user: UserId, proof: Proof<'_>, now: Timestamp) -> Result<bool>;
            fn replace_recovery_codes(
                &self,
                user: UserId,
                codes: &[[u8; 32]],
                now: Timestamp,
            ) -> Result<()>;
            fn recovery_state(&self, user: UserId) -> Result<RecoveryState>;
            fn remove_second_factors(&self, user: UserId) -> Result<bool>;
        }
    }
}

wrap! {
    impl PendingLogins {
        pass {
            fn create_pending_login(&self, token: &[u8; 32], login: &PendingLogin) -> Result<()>;
            fn pending_login(
                &self,
                token: &[u8; 32],
                now: Timestamp,
            ) -> Result<Option<PendingLogin>>;
            fn count_pending_failure(&self, token: &[u8; 32], max: u32) -> Result<Option<u32>>;
            fn finish_pending_login(
                &self,
                token: &[u8; 32],
                proof: Proof<'_>,
                now: Timestamp,
            ) -> Result<Finished>;
            fn sweep_pending_logins(&self, now: Timestamp) -> Result<u64>;
        }
    }
}
