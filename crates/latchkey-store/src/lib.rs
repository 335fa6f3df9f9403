//! latchkey's storage seam.
//!
//! Small async traits, one per kind of record ([`Users`], [`Sessions`],
//! [`Secrets`], [`LoginFailures`], [`RefreshTokens`], [`Revocations`],
//! [`Keys`]), gathered by [`Store`]. Backends implement them beside this
//! module ([`sqlite`] for one node, [`postgres`] for several); every backend
//! must pass the same conformance suite (`conformance`, compiled only with
//! the `conformance` feature, which the tests enable). [`redis::RedisCached`] wraps
//! a durable store with Redis (session cache, shared login counters,
//! revocation fan-out) and passes the same suite. Rules (what is expired, what a failure
//! window is) live in `latchkey-core`; a backend stores, finds and applies
//! them atomically, and never reads the clock: `now` is always an argument.
//!
//! **Invariant:** session secrets are stored only as their SHA-256 hash;
//! passwords only as argon2id hashes.

#[macro_use]
mod delegate;

pub mod admin;
pub mod audit;
pub mod circuit;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod email;
pub mod federation;
pub mod groups;
pub mod mfa;
pub mod passkeys;
pub mod postgres;
pub mod redis;
mod sql;
pub mod sqlite;
pub mod tokens;
pub mod webhooks;

pub use sql::SqlStore;

use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::revocation::{Revocation, Target};
use latchkey_core::throttle::FailureWindow;
use latchkey_core::{
    Assurance, PasswordHash, Session, SessionHandle, SessionSecretHash, Timestamp, UserId, Username,
};

#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule was broken (e.g. the username is taken).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The store could not be reached or did not answer in time.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store holds something this version cannot read.
    #[error("store holds unreadable data: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What survives an "end the user's sessions" operation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Keep<'a> {
    pub session: Option<&'a SessionHandle>,
    pub family: Option<&'a str>,
}

/// When revocations are recorded, and how long their entries must live
/// (the longest access-token lifetime: after that, nothing they cover is
/// still valid) — and the security event the change records in its own
/// transaction, if any.
#[derive(Clone, Copy)]
pub struct RevokeAt<'a> {
    pub now: Timestamp,
    pub ttl: Duration,
    /// Describes the change from what it ended: the event is written in
    /// the transaction that ends it, once per change, so the audit trail
    /// holds it exactly when the change happened. `None` from the
    /// description (or here) records nothing.
    pub event: Option<Describe<'a>>,
}

/// Builds a change's security event from what it ended (see
/// [`RevokeAt::event`]).
pub type Describe<'a> = &'a (dyn Fn(&Ended) -> Option<AuditEvent> + Send + Sync);

impl std::fmt::Debug for RevokeAt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeAt")
            .field("now", &self.now)
            .field("ttl", &self.ttl)
            .field("event", &self.event.is_some())
            .finish()
    }
}

impl<'a> RevokeAt<'a> {
    /// Revocations recorded at `now` that live `ttl`; no event.
    pub fn new(now: Timestamp, ttl: Duration) -> Self {
        Self {
            now,
            ttl,
            event: None,
        }
    }

    /// The same, recording the event `describe` builds with the change.
    pub fn recording(self, describe: Describe<'a>) -> Self {
        Self {
            event: Some(describe),
            ..self
        }
    }

    /// The event to record for a change that ended `ended`.
    pub fn described(&self, ended: &Ended) -> Option<AuditEvent> {
        self.event.and_then(|describe| describe(ended))
    }

    pub fn entry(&self, target: Target) -> Revocation {
        Revocation {
            target,
            at: self.now,
            expires_at: self.now.saturating_add(self.ttl),
        }
    }
}

/// What an ending operation ended, and the revocations it recorded (for
/// the caller's in-memory denylist).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ended {
    pub sessions: Vec<SessionHandle>,
    pub families: Vec<String>,
    pub revocations: Vec<Revocation>,
}

impl Ended {
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.families.is_empty()
    }
}

/// A stored account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    /// `None` for an account without a password (a passkey or a provider
    /// is its way in): no password ever matches it.
    pub password_hash: Option<PasswordHash>,
    pub created_at: Timestamp,
    /// When an operator disabled the account: its sign-ins then fail like a
    /// wrong password.
    pub disabled_at: Option<Timestamp>,
}

#[async_trait]
pub trait Users: Send + Sync {
    /// Creates `user`; `Conflict` if the username is taken.
    async fn create_user(&self, user: &User) -> Result<()>;
    async fn user_by_name(&self, username: &Username) -> Result<Option<User>>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>>;
    /// Replaces the password hash and, in the same transaction, ends every
    /// session and refresh family of the user except those in `keep`,
    /// recording their revocations.
    async fn replace_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep: Keep<'_>,
        at: RevokeAt<'_>,
    ) -> Result<Ended>;
    /// Replaces the hash alone (a rehash at login after a parameter change).
    async fn rehash_password(&self, id: UserId, hash: &PasswordHash) -> Result<()>;
}

#[async_trait]
pub trait Sessions: Send + Sync {
    async fn create_session(&self, secret: &SessionSecretHash, session: &Session) -> Result<()>;
    /// The session with this secret and its user's name, expired or not
    /// (the caller applies the policy).
    async fn session_by_secret(
        &self,
        secret: &SessionSecretHash,
    ) -> Result<Option<(Session, Username)>>;
    /// Records activity: new last-seen time and idle expiry.
    async fn touch_session(
        &self,
        secret: &SessionSecretHash,
        last_seen_at: Timestamp,
        idle_expires_at: Timestamp,
    ) -> Result<()>;
    /// After a further authentication with `added` (`amr` values) at `at`:
    /// merges them into the session's `amr` and moves its `auth_time` to
    /// `at` (see [`Assurance::merged`]); the new assurance, or `None` if
    /// there is no such session.
    async fn reauthenticate_session(
        &self,
        secret: &SessionSecretHash,
        added: &[String],
        at: Timestamp,
    ) -> Result<Option<Assurance>>;
    /// Ends the session with this secret (logout) and records the
    /// revocation of its `sid`.
    async fn delete_session_by_secret(
        &self,
        secret: &SessionSecretHash,
        at: RevokeAt<'_>,
    ) -> Result<Ended>;
    /// Ends a session by handle; with `owner`, only if it belongs to them.
    async fn delete_session(
        &self,
        handle: &SessionHandle,
        owner: Option<UserId>,
        at: RevokeAt<'_>,
    ) -> Result<Ended>;
    /// Ends every session and refresh family of `user` except `keep`, in
    /// one transaction, recording a `sid` revocation for each; with
    /// `not_before`, also a per-user not-before (log out everywhere).
    async fn end_user_sessions(
        &self,
        user: UserId,
        keep: Keep<'_>,
        at: RevokeAt<'_>,
        not_before: bool,
    ) -> Result<Ended>;
    /// Unexpired sessions, newest first; all users' when `user` is `None`.
    async fn list_sessions(&self, user: Option<UserId>, now: Timestamp) -> Result<Vec<Session>>;
    async fn count_active_sessions(&self, now: Timestamp) -> Result<u64>;
    /// Deletes sessions whose idle or absolute expiry has passed.
    async fn sweep_expired_sessions(&self, now: Timestamp) -> Result<u64>;
}

#[async_trait]
pub trait Secrets: Send + Sync {
    /// The server secret named `name`; if there is none yet, `candidate`
    /// is stored and returned. Concurrent first starts agree on one value.
    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>>;
}

/// The issuer recorded in `store`: `candidate` on the first start (which
/// records it), the recorded one ever after. Nodes sharing a store must
/// mint and accept the same `iss`, so a node compares its configured
/// issuer with this and refuses to start on a difference.
pub async fn recorded_issuer<S: Secrets + ?Sized>(store: &S, candidate: &str) -> Result<String> {
    let stored = store
        .secret_or_insert("issuer", candidate.as_bytes())
        .await?;
    String::from_utf8(stored)
        .map_err(|_| StoreError::Corrupt("recorded issuer is not UTF-8".into()))
}

#[async_trait]
pub trait LoginFailures: Send + Sync {
    async fn failures(&self, key: &str) -> Result<Option<FailureWindow>>;
    /// Counts one failure at `now` atomically (see
    /// [`FailureWindow::after_failure`]) and returns the new window.
    async fn record_failure(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<FailureWindow>;
    async fn clear_failures(&self, key: &str) -> Result<()>;
    /// Takes back one counted attempt (it turned out to succeed); never
    /// below zero.
    async fn forgive_failure(&self, key: &str) -> Result<()>;
    /// Forgets windows that started before `cutoff`.
    async fn sweep_failures(&self, cutoff: Timestamp) -> Result<u64>;
}

pub use admin::{Admin, AdminKeyRecord, UserQuery};
pub use audit::{Audit, AuditEvent, EventQuery};
pub use email::{
    Address, Addresses, CodeTry, Delivery, EmailToken, EmailTokens, Mail, MailState, Outbox,
    OutboxCounts, TokenKind, address_key,
};
pub use federation::{FederatedLogin, Federation, LinkedIdentity};
pub use groups::Groups;
pub use mfa::{
    Finished, PendingLogin, PendingLogins, Proof, RecoveryState, SecondFactors, TotpFactor,
};
pub use passkeys::{Ceremony, PasskeyRecord, PasskeyUse, Passkeys};
pub use tokens::{Family, KeyRecord, Keys, RefreshOutcome, RefreshTokens, Revocations};
pub use webhooks::{WebhookDelivery, WebhookOutbox};

/// Everything latchkey stores, behind one object.
#[async_trait]
pub trait Store:
    Users
    + Sessions
    + Secrets
    + LoginFailures
    + RefreshTokens
    + Revocations
    + Keys
    + SecondFactors
    + PendingLogins
    + Passkeys
    + Admin
    + Audit
    + Groups
    + Federation
    + Addresses
    + EmailTokens
    + Outbox
    + WebhookOutbox
{
    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;
    /// A short name for logs and metrics: `sqlite`, `postgres`.
    fn backend(&self) -> &'static str;
    /// Closes the connections (at shutdown, after the last request).
    async fn close(&self);
    /// Sends on `wake` whenever another process may have recorded
    /// revocations (PostgreSQL: LISTEN/NOTIFY), so nodes read them within
    /// milliseconds instead of at their next poll. Backends without such a
    /// channel send nothing: the poll alone carries revocations.
    async fn watch_revocations(&self, wake: tokio::sync::mpsc::Sender<()>) {
        drop(wake);
    }
}

/// Opens the store named by `url`: `sqlite://PATH` (or `sqlite::memory:`)
/// or `postgres://…` / `postgresql://…`. Migrations are applied.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(postgres::PgStore::open(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open(url).await?))
    } else {
        Err(StoreError::Unavailable(
            "the database URL must start with sqlite: or postgres://".into(),
        ))
    }
}

pub(crate) fn millis_to_duration(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
