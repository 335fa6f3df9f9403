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
    Ended, Family, Keep, KeyRecord, Keys, LoginFailures, RefreshOutcome, RefreshTokens, Result,
    Revocations, RevokeAt, Secrets, Sessions, Store, User, Users,
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
                at: RevokeAt,
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
                at: RevokeAt,
            ) -> Result<Ended>;
            fn delete_session(
                &self,
                handle: &SessionHandle,
                owner: Option<UserId>,
                at: RevokeAt,
            ) -> Result<Ended>;
            fn end_user_sessions(
                &self,
                user: UserId,
                keep: Keep<'_>,
                at: RevokeAt,
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
                at: RevokeAt,
                grace: Duration,
            ) -> Result<RefreshOutcome>;
            fn family_of(&self, token: &RefreshHash) -> Result<Option<Family>>;
            fn reauthenticate_family(
                &self,
                id: &str,
                added: &[String],
                at: Timestamp,
            ) -> Result<Option<Assurance>>;
            fn revoke_family(&self, id: &str, at: RevokeAt) -> Result<Ended>;
            fn sweep_families(&self, now: Timestamp) -> Result<u64>;
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
