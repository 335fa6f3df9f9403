//! Records behind bearer tokens: refresh families, the revocation log and
//! signing keys.

use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::UserId;
use latchkey_core::refresh::RefreshHash;
use latchkey_core::revocation::{Revocation, Target};
use latchkey_core::{Assurance, Timestamp};

use crate::{Ended, Result, RevokeAt, StoreError};

/// How a revocation target is stored: a kind (`jti`, `sid`, `user`) and a
/// value.
pub(crate) fn target_parts(t: &Target) -> (&'static str, &str) {
    match t {
        Target::Jti(v) => ("jti", v),
        Target::Sid(v) => ("sid", v),
        Target::User(v) => ("user", v),
    }
}

/// The inverse of [`target_parts`].
pub(crate) fn target_from_parts(kind: &str, value: String) -> Result<Target> {
    match kind {
        "jti" => Ok(Target::Jti(value)),
        "sid" => Ok(Target::Sid(value)),
        "user" => Ok(Target::User(value)),
        other => Err(StoreError::Corrupt(format!("revocation kind {other}"))),
    }
}

/// A refresh family: everything issued from one token login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    /// Public id; also the `sid` of the access tokens it issues.
    pub id: String,
    pub user_id: UserId,
    pub created_at: Timestamp,
    /// Absolute end; rotation never extends it.
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// How and when the login that started it signed in, raised by
    /// step-up; every access token of the family carries it.
    pub assurance: Assurance,
    /// The login that started it: `tokens` (bearer) or `cookie_jwt`
    /// (hybrid).
    pub kind: String,
    /// The device that started it, as a session records it.
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// Its last rotation (its creation until the first).
    pub last_used_at: Timestamp,
}

/// What happened to a presented refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Spent; its successor is now the family's live token.
    Rotated {
        family: Family,
        issued_at: Timestamp,
    },
    /// Spent moments ago; the successor already stored is handed out again.
    Grace {
        family: Family,
        issued_at: Timestamp,
    },
    /// Spent long ago: the family is now revoked.
    Reused {
        family: Family,
        revocations: Vec<Revocation>,
    },
    Expired,
    Revoked,
    Unknown,
}

#[async_trait]
pub trait RefreshTokens: Send + Sync {
    async fn create_family(&self, family: &Family, first: &RefreshHash) -> Result<()>;
    /// Applies [`latchkey_core::refresh::decide`] to `presented` inside one
    /// transaction, so concurrent refreshes of one token, on any number of
    /// nodes, rotate it exactly once.
    async fn refresh(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        at: RevokeAt<'_>,
        grace: Duration,
    ) -> Result<RefreshOutcome>;
    /// The family a token belongs to (spent or not).
    async fn family_of(&self, token: &RefreshHash) -> Result<Option<Family>>;
    /// As [`Sessions::reauthenticate_session`](crate::Sessions::reauthenticate_session),
    /// for the live family `id`.
    async fn reauthenticate_family(
        &self,
        id: &str,
        added: &[String],
        at: Timestamp,
    ) -> Result<Option<Assurance>>;
    /// Revokes one family and records the revocation of its `sid`, in one
    /// transaction. Empty if it was not live.
    async fn revoke_family(&self, id: &str, at: RevokeAt<'_>) -> Result<Ended>;
    /// Deletes families past their absolute end.
    async fn sweep_families(&self, now: Timestamp) -> Result<u64>;
    /// Live families (unrevoked, unexpired) of `user`, or of everyone,
    /// most recently used first.
    async fn list_families(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Family>>;
}

#[async_trait]
pub trait Revocations: Send + Sync {
    async fn add_revocations(&self, entries: &[Revocation]) -> Result<()>;
    /// Unexpired entries after `cursor` (0 for all), and the new cursor.
    async fn revocations_since(
        &self,
        cursor: i64,
        now: Timestamp,
    ) -> Result<(Vec<Revocation>, i64)>;
    async fn prune_revocations(&self, now: Timestamp) -> Result<u64>;
}

/// A signing key as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: String,
    /// PKCS#8 DER or HS256 secret; sealed when `sealed`.
    pub private: Vec<u8>,
    pub sealed: bool,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    /// Tokens signed by a retired key are refused after this.
    pub not_after: Option<Timestamp>,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("sealed", &self.sealed)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait Keys: Send + Sync {
    /// Every stored key, newest first.
    async fn keys(&self) -> Result<Vec<KeyRecord>>;
    /// Stores `key` only if there is no current (unretired) key yet; `true`
    /// if stored. Two nodes starting at once end with one current key.
    async fn add_first_key(&self, key: &KeyRecord) -> Result<bool>;
    /// Retires every current key (verifiable until `retired_not_after`) and
    /// stores `key` as the current one, in one transaction.
    async fn rotate_key(
        &self,
        key: &KeyRecord,
        now: Timestamp,
        retired_not_after: Timestamp,
    ) -> Result<()>;
    /// Deletes retired keys past their `not_after`.
    async fn delete_expired_keys(&self, now: Timestamp) -> Result<u64>;
    /// Replaces the private part of key `kid` with `sealed_private` and
    /// marks it sealed, only if it is stored unsealed (a master key set on
    /// an existing store); `true` if it was.
    async fn seal_key(&self, kid: &str, sealed_private: &[u8]) -> Result<bool>;
}
