//! E-mail records: a user's address, the single-use tokens and codes sent
//! to it, and the outbox of messages waiting to be sent.
//!
//! **Invariant:** tokens and codes are stored only as SHA-256 hashes, and
//! each is consumed at most once, on any number of nodes (one
//! `DELETE … RETURNING`). A pending outbox row is claimed by one sender at
//! a time (one conditional `UPDATE` moving its next attempt past a lease).

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use crate::{Result, User};

/// A user's address, as entered, and whether it was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub email: String,
    pub verified: bool,
}

/// The key an address is unique under: the local part as entered, the
/// domain in lower case (`Alice@Example.COM` → `Alice@example.com`).
pub fn address_key(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => email.to_owned(),
    }
}

#[async_trait]
pub trait Addresses: Send + Sync {
    /// Creates `user` with `address`, in one transaction: `Conflict("username
    /// taken")` or `Conflict("email taken")`, and then nothing is stored.
    async fn create_user_with_address(&self, user: &User, address: &Address) -> Result<()>;
    /// Sets (or, with `None`, removes) the user's address; `Conflict("email
    /// taken")` if another user has it. `false` if there is no such user.
    async fn set_address(&self, user: UserId, address: Option<&Address>) -> Result<bool>;
    async fn address_of(&self, user: UserId) -> Result<Option<Address>>;
    /// The user whose address has this [`address_key`].
    async fn user_by_address(&self, email: &str) -> Result<Option<(User, Address)>>;
    /// Marks the user's address verified if it is still `email`; whether
    /// it did.
    async fn mark_address_verified(&self, user: UserId, email: &str) -> Result<bool>;
}

/// What a token or code sent by e-mail is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A verification link.
    Verify,
    /// A password-reset link.
    Reset,
    /// A sign-in code.
    Code,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::Code => "code",
        }
    }
}

/// A token or code sent by e-mail (stored under its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailToken {
    pub kind: TokenKind,
    pub user_id: UserId,
    /// The address it was sent to.
    pub email: String,
    /// Wrong codes so far.
    pub attempts: u32,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// How presenting a sign-in code went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeTry {
    /// Right: the code is consumed.
    Accepted(EmailToken),
    /// Wrong: the count of wrong codes so far (the code is gone at the
    /// limit).
    Wrong(u32),
    /// The user has no unexpired code.
    Gone,
}

#[async_trait]
pub trait EmailTokens: Send + Sync {
    /// Stores `token` under `hash`, replacing the user's earlier tokens of
    /// the same kind (one live link or code per purpose).
    async fn put_email_token(&self, hash: &[u8; 32], token: &EmailToken) -> Result<()>;
    /// Takes (deletes and returns) the unexpired token of `kind` under
    /// `hash`: at most one caller ever gets it.
    async fn take_email_token(
        &self,
        hash: &[u8; 32],
        kind: TokenKind,
        now: Timestamp,
    ) -> Result<Option<EmailToken>>;
    /// Presents a sign-in code of `user` (its hash): consumed if right;
    /// counted if wrong, and deleted at `max` wrong codes.
    async fn try_email_code(
        &self,
        user: UserId,
        hash: &[u8; 32],
        now: Timestamp,
        max: u32,
    ) -> Result<CodeTry>;
    /// Deletes tokens past their expiry.
    async fn sweep_email_tokens(&self, now: Timestamp) -> Result<u64>;
}

/// Where an outbox row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailState {
    Pending,
    Sent,
    Failed,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// One message in the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Whether subject and bodies are sealed with the master key (see
    /// `latchkey_auth::SealingKey::seal_text`, bound to the id).
    pub sealed: bool,
    /// Sends tried so far (a claim counts one).
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub state: MailState,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
}

/// Bodies hold single-use links: never printed.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// What became of a claimed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    Sent {
        at: Timestamp,
    },
    /// Try again at `next`.
    Retry {
        next: Timestamp,
        error: String,
    },
    /// Given up.
    Failed {
        at: Timestamp,
        error: String,
    },
}

/// How many outbox rows are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
}

#[async_trait]
pub trait Outbox: Send + Sync {
    /// Stores `mail` (pending, due at its `next_attempt_at`).
    async fn enqueue_mail(&self, mail: &Mail) -> Result<()>;
    /// Claims up to `limit` pending messages due at `now`: each has its
    /// attempts counted and its next attempt moved to `lease_until`, so
    /// no other sender takes it meanwhile (and it is retried then if this
    /// sender dies).
    async fn claim_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Mail>>;
    /// Records what became of a claimed message; a sent or failed one
    /// loses its bodies.
    async fn finish_mail(&self, id: &str, delivery: &Delivery) -> Result<()>;
    async fn mail(&self, id: &str) -> Result<Option<Mail>>;
    async fn outbox_counts(&self) -> Result<OutboxCounts>;
    /// Deletes sent and failed messages finished before `cutoff`.
    async fn sweep_mail(&self, cutoff: Timestamp) -> Result<u64>;
}
