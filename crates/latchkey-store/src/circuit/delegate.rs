//! Every store call through [`Circuit::call`]; `ping` through the probe.

use std::time::Duration;

use latchkey_core::refresh::RefreshHash;
use latchkey_core::revocation::Revocation;
use latchkey_core::throttle::FailureWindow;
use latchkey_core::{
    Assurance, PasswordHash, Session, SessionHandle, SessionSecretHash, Timestamp, UserId, Username,
};

use super::Circuit;
use crate::{
    Ended, Family, Finished, Keep, KeyRecord, Keys, LoginFailures, PendingLogin, PendingLogins,
    Proof, RecoveryState, RefreshOutcome, RefreshTokens, Result, Revocations, RevokeAt,
    SecondFactors, Secrets, Sessions, Store, TotpFactor, User, Users,
};

delegate! {
    impl[] Users for Circuit, via call {
        pass {
            fn create_user(&self, user: &User) -> Result<()>;
            fn user_by_name(&self, username: &Username) -> Result<Option<User>>;
            fn user_by_id(&self, id: UserId) -> Result<Option<User>>;
            fn replace_password(
                &self,
                id: UserId,
                hash: &PasswordHash,
                keep: Keep<'_>,
                at: RevokeAt<'_>,
            ) -> Result<Ended>;
            fn rehash_password(&self, id: UserId, hash: &PasswordHash) -> Result<()>;
        }
    }
}

delegate! {
    impl[] Sessions for Circuit, via call {
        pass {
            fn create_session(&self, secret: &SessionSecretHash, session: &Session) -> Result<()>;
            fn session_by_secret(
                &self,
                secret: &SessionSecretHash,
            ) -> Result<Option<(Session, Username)>>;
            fn touch_session(
                &self,
                secret: &SessionSecretHash,
                last_seen_at: Timestamp,
                idle_expires_at: Timestamp,
            ) -> Result<()>;
            fn reauthenticate_session(
                &self,
                secret: &SessionSecretHash,
                added: &[String],
                at: Timestamp,
            ) -> Result<Option<Assurance>>;
            fn delete_session_by_secret(
                &self,
                secret: &SessionSecretHash,
                at: RevokeAt<'_>,
            ) -> Result<Ended>;
            fn delete_session(
                &self,
                handle: &SessionHandle,
                owner: Option<UserId>,
                at: RevokeAt<'_>,
            ) -> Result<Ended>;
            fn end_user_sessions(
                &self,
                user: UserId,
                keep: Keep<'_>,
                at: RevokeAt<'_>,
                not_before: bool,
            ) -> Result<Ended>;
            fn list_sessions(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Session>>;
            fn count_active_sessions(&self, now: Timestamp) -> Result<u64>;
            fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64>;
        }
    }
}

delegate! {
    impl[] Secrets for Circuit, via call {
        pass {
            fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>>;
        }
    }
}

delegate! {
    impl[] LoginFailures for Circuit, via call {
        pass {
            fn failures(&self, key: &str) -> Result<Option<FailureWindow>>;
            fn record_failure(
                &self,
                key: &str,
                window: Duration,
                now: Timestamp,
            ) -> Result<FailureWindow>;
            fn clear_failures(&self, key: &str) -> Result<()>;
            fn forgive_failure(&self, key: &str) -> Result<()>;
            fn sweep_failures(&self, cutoff: Timestamp) -> Result<u64>;
        }
    }
}

delegate! {
    impl[] RefreshTokens for Circuit, via call {
        pass {
            fn create_family(&self, family: &Family, first: &RefreshHash) -> Result<()>;
            fn refresh(
                &self,
                presented: &RefreshHash,
                successor: &RefreshHash,
                at: RevokeAt<'_>,
                grace: Duration,
            ) -> Result<RefreshOutcome>;
            fn family_of(&self, token: &RefreshHash) -> Result<Option<Family>>;
            fn reauthenticate_family(
                &self,
                id: &str,
                added: &[String],
                at: Timestamp,
            ) -> Result<Option<Assurance>>;
            fn revoke_family(&self, id: &str, at: RevokeAt<'_>) -> Result<Ended>;
            fn sweep_families(&self, now: Timestamp) -> Result<u64>;
            fn list_families(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Family>>;
        }
    }
}

delegate! {
    impl[] Revocations for Circuit, via call {
        pass {
            fn add_revocations(&self, entries: &[Revocation]) -> Result<()>;
            fn revocations_since(
                &self,
                cursor: i64,
                now: Timestamp,
            ) -> Result<(Vec<Revocation>, i64)>;
            fn prune_revocations(&self, now: Timestamp) -> Result<u64>;
        }
    }
}

delegate! {
    impl[] Keys for Circuit, via call {
        pass {
            fn keys(&self) -> Result<Vec<KeyRecord>>;
            fn add_first_key(&self, key: &KeyRecord) -> Result<bool>;
            fn rotate_key(
                &self,
                key: &KeyRecord,
                now: Timestamp,
                retired_not_after: Timestamp,
            ) -> Result<()>;
            fn delete_expired_keys(&self, now: Timestamp) -> Result<u64>;
            fn seal_key(&self, kid: &str, sealed_private: &[u8]) -> Result<bool>;
        }
    }
}

delegate! {
    impl[] SecondFactors for Circuit, via call {
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

delegate! {
    impl[] PendingLogins for Circuit, via call {
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

#[async_trait::async_trait]
impl Store for Circuit {
    async fn ping(&self) -> Result<()> {
        self.checked_ping().await
    }
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn close(&self) {
        self.inner.close().await;
    }
    async fn watch_revocations(&self, wake: tokio::sync::mpsc::Sender<()>) {
        self.inner.watch_revocations(wake).await;
    }
}
