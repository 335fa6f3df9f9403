//! `Sessions` through the cache: lookups read Redis first; every write
//! goes to the durable store first and then invalidates (see `cache.rs`
//! for the protocol, `mod.rs` for the rules).

use latchkey_core::{
    Assurance, Session, SessionHandle, SessionSecretHash, Timestamp, UserId, Username,
};

use super::RedisCached;
use super::cache::Lookup;
use crate::{Ended, Keep, Result, RevokeAt, Sessions};

wrap! {
    impl Sessions {
        pass {
            /// No absence is cached, so a new session has no entry to
            /// invalidate.
            fn create_session(&self, secret: &SessionSecretHash, session: &Session) -> Result<()>;
            fn list_sessions(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Session>>;
            fn count_active_sessions(&self, now: Timestamp) -> Result<u64>;
            /// Not invalidated: what is swept has expired, and a cached copy
            /// holds the same expiry times, so the caller refuses it just
            /// the same.
            fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64>;
        }

        async fn session_by_secret(
            &self,
            secret: &SessionSecretHash,
        ) -> Result<Option<(Session, Username)>> {
            match self.cache.lookup(secret).await {
                Lookup::Hit(session, name) if !self.ended.contains(session.handle.as_str()) => {
                    Ok(Some((session, name)))
                }
                Lookup::Leased(lease) => {
                    let found = self.inner.session_by_secret(secret).await;
                    match &found {
                        Ok(Some((session, name)))
                            if !self.ended.contains(session.handle.as_str()) =>
                        {
                            self.cache.fill(secret, &lease, session, name).await;
                        }
                        _ => self.cache.release(secret, &lease).await,
                    }
                    found
                }
                Lookup::Hit(..) | Lookup::Bypass => self.inner.session_by_secret(secret).await,
            }
        }

        async fn touch_session(
            &self,
            secret: &SessionSecretHash,
            last_seen_at: Timestamp,
            idle_expires_at: Timestamp,
        ) -> Result<()> {
            let result = self
                .inner
                .touch_session(secret, last_seen_at, idle_expires_at)
                .await;
            // Even after an error: the write may have happened.
            self.cache.forget_secret(secret).await;
            result
        }

        async fn reauthenticate_session(
            &self,
            secret: &SessionSecretHash,
            added: &[String],
            at: Timestamp,
        ) -> Result<Option<Assurance>> {
            let result = self.inner.reauthenticate_session(secret, added, at).await;
            // Even after an error: the write may have happened.
            self.cache.forget_secret(secret).await;
            result
        }

        async fn delete_session_by_secret(
            &self,
            secret: &SessionSecretHash,
            at: RevokeAt<'_>,
        ) -> Result<Ended> {
            let result = self.inner.delete_session_by_secret(secret, at).await;
            self.cache.forget_secret(secret).await;
            self.ended(&result);
            result
        }

        async fn delete_session(
            &self,
            handle: &SessionHandle,
            owner: Option<UserId>,
            at: RevokeAt<'_>,
        ) -> Result<Ended> {
            let result = self.inner.delete_session(handle, owner, at).await;
            // Refused (not the owner's, or already gone): nothing changed.
            if result.as_ref().is_ok_and(Ended::is_empty) {
                return result;
            }
            self.cache.forget_handles(&[handle.as_str()]).await;
            self.ended(&result);
            result
        }

        async fn end_user_sessions(
            &self,
            user: UserId,
            keep: Keep<'_>,
            at: RevokeAt<'_>,
            not_before: bool,
        ) -> Result<Ended> {
            let result = self
                .inner
                .end_user_sessions(user, keep, at, not_before)
                .await;
            self.cache.forget_user(user).await;
            self.ended(&result);
            result
        }
    }
}
