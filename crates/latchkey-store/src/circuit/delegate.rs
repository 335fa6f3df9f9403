//! Every store call through [`Circuit::call`]; `ping` through the probe.

use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::refresh::RefreshHash;
use latchkey_core::revocation::Revocation;
use latchkey_core::throttle::FailureWindow;
use latchkey_core::{
    PasswordHash, Session, SessionHandle, SessionSecretHash, Timestamp, UserId, Username,
};

use super::Circuit;
use crate::{
    Ended, Family, Keep, KeyRecord, Keys, LoginFailures, RefreshOutcome, RefreshTokens, Result,
    Revocations, RevokeAt, Secrets, Sessions, Store, User, Users,
};

#[async_trait]
impl Users for Circuit {
    async fn create_user(&self, user: &User) -> Result<()> {
        self.call(self.inner.create_user(user)).await
    }
    async fn user_by_name(&self, username: &Username) -> Result<Option<User>> {
        self.call(self.inner.user_by_name(username)).await
    }
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        self.call(self.inner.user_by_id(id)).await
    }
    async fn replace_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep: Keep<'_>,
        at: RevokeAt,
    ) -> Result<Ended> {
        self.call(self.inner.replace_password(id, hash, keep, at))
            .await
    }
    async fn rehash_password(&self, id: UserId, hash: &PasswordHash) -> Result<()> {
        self.call(self.inner.rehash_password(id, hash)).await
    }
}

#[async_trait]
impl Sessions for Circuit {
    async fn create_session(&self, secret: &SessionSecretHash, session: &Session) -> Result<()> {
        self.call(self.inner.create_session(secret, session)).await
    }
    async fn session_by_secret(
        &self,
        secret: &SessionSecretHash,
    ) -> Result<Option<(Session, Username)>> {
        self.call(self.inner.session_by_secret(secret)).await
    }
    async fn touch_session(
        &self,
        secret: &SessionSecretHash,
        last_seen_at: Timestamp,
        idle_expires_at: Timestamp,
    ) -> Result<()> {
        self.call(
            self.inner
                .touch_session(secret, last_seen_at, idle_expires_at),
        )
        .await
    }
    async fn delete_session_by_secret(
        &self,
        secret: &SessionSecretHash,
        at: RevokeAt,
    ) -> Result<Ended> {
        self.call(self.inner.delete_session_by_secret(secret, at))
            .await
    }
    async fn delete_session(
        &self,
        handle: &SessionHandle,
        owner: Option<UserId>,
        at: RevokeAt,
    ) -> Result<Ended> {
        self.call(self.inner.delete_session(handle, owner, at))
            .await
    }
    async fn end_user_sessions(
        &self,
        user: UserId,
        keep: Keep<'_>,
        at: RevokeAt,
        not_before: bool,
    ) -> Result<Ended> {
        self.call(self.inner.end_user_sessions(user, keep, at, not_before))
            .await
    }
    async fn list_sessions(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Session>> {
        self.call(self.inner.list_sessions(user, now)).await
    }
    async fn count_active_sessions(&self, now: Timestamp) -> Result<u64> {
        self.call(self.inner.count_active_sessions(now)).await
    }
    async fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        self.call(self.inner.sweep_expired_sessions(now)).await
    }
}

#[async_trait]
impl Secrets for Circuit {
    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
        self.call(self.inner.secret_or_insert(name, candidate))
            .await
    }
}

#[async_trait]
impl LoginFailures for Circuit {
    async fn failures(&self, key: &str) -> Result<Option<FailureWindow>> {
        self.call(self.inner.failures(key)).await
    }
    async fn record_failure(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<FailureWindow> {
        self.call(self.inner.record_failure(key, window, now)).await
    }
    async fn clear_failures(&self, key: &str) -> Result<()> {
        self.call(self.inner.clear_failures(key)).await
    }
    async fn forgive_failure(&self, key: &str) -> Result<()> {
        self.call(self.inner.forgive_failure(key)).await
    }
    async fn sweep_failures(&self, cutoff: Timestamp) -> Result<u64> {
        self.call(self.inner.sweep_failures(cutoff)).await
    }
}

#[async_trait]
impl RefreshTokens for Circuit {
    async fn create_family(&self, family: &Family, first: &RefreshHash) -> Result<()> {
        self.call(self.inner.create_family(family, first)).await
    }
    async fn refresh(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        at: RevokeAt,
        grace: Duration,
    ) -> Result<RefreshOutcome> {
        self.call(self.inner.refresh(presented, successor, at, grace))
            .await
    }
    async fn family_of(&self, token: &RefreshHash) -> Result<Option<Family>> {
        self.call(self.inner.family_of(token)).await
    }
    async fn revoke_family(&self, id: &str, at: RevokeAt) -> Result<Ended> {
        self.call(self.inner.revoke_family(id, at)).await
    }
    async fn sweep_families(&self, now: Timestamp) -> Result<u64> {
        self.call(self.inner.sweep_families(now)).await
    }
}

#[async_trait]
impl Revocations for Circuit {
    async fn add_revocations(&self, entries: &[Revocation]) -> Result<()> {
        self.call(self.inner.add_revocations(entries)).await
    }
    async fn revocations_since(
        &self,
        cursor: i64,
        now: Timestamp,
    ) -> Result<(Vec<Revocation>, i64)> {
        self.call(self.inner.revocations_since(cursor, now)).await
    }
    async fn prune_revocations(&self, now: Timestamp) -> Result<u64> {
        self.call(self.inner.prune_revocations(now)).await
    }
}

#[async_trait]
impl Keys for Circuit {
    async fn keys(&self) -> Result<Vec<KeyRecord>> {
        self.call(self.inner.keys()).await
    }
    async fn add_first_key(&self, key: &KeyRecord) -> Result<bool> {
        self.call(self.inner.add_first_key(key)).await
    }
    async fn rotate_key(
        &self,
        key: &KeyRecord,
        now: Timestamp,
        retired_not_after: Timestamp,
    ) -> Result<()> {
        self.call(self.inner.rotate_key(key, now, retired_not_after))
            .await
    }
    async fn delete_expired_keys(&self, now: Timestamp) -> Result<u64> {
        self.call(self.inner.delete_expired_keys(now)).await
    }
    async fn seal_key(&self, kid: &str, sealed_private: &[u8]) -> Result<bool> {
        self.call(self.inner.seal_key(kid, sealed_private)).await
    }
}

#[async_trait]
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
