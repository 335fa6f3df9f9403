//! Records behind second factors: TOTP factors, recovery codes, and
//! logins waiting for their second step.
//!
//! **Invariant:** a TOTP time step and a recovery code are each accepted
//! at most once, whatever the number of nodes: acceptance is one
//! conditional `UPDATE` (a later step than the last accepted one; an
//! unused code). A pending login is consumed by one `DELETE`, in the same
//! transaction as its proof, so it completes at most once.

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use crate::Result;

/// A user's TOTP factor. `secret` is sealed with the master key when
/// `sealed` (see `latchkey_auth::totp`).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpFactor {
    pub user_id: UserId,
    pub secret: Vec<u8>,
    pub sealed: bool,
    pub created_at: Timestamp,
    /// `None` while enrolment waits for a first correct code.
    pub confirmed_at: Option<Timestamp>,
    /// The last accepted RFC 6238 time step.
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpFactor")
            .field("user_id", &self.user_id)
            .field("sealed", &self.sealed)
            .field("created_at", &self.created_at)
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// What the account page shows about recovery codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryState {
    pub remaining: u32,
    pub last_used_at: Option<Timestamp>,
}

/// Evidence of a second factor, accepted at most once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof<'a> {
    /// An RFC 6238 time step whose code was right: accepted if later than
    /// the last accepted step of the user's confirmed factor.
    TotpStep(i64),
    /// The SHA-256 of a recovery code: accepted if the user holds it
    /// unused.
    RecoveryCode(&'a [u8; 32]),
    /// A WebAuthn assertion already checked and recorded (its ceremony
    /// taken once, its sign counter moved forward by `record_passkey_use`):
    /// always accepted; finishing a pending login with it only consumes
    /// the login.
    Passkey,
}

/// A login whose first step passed, waiting for a second factor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingLogin {
    pub user_id: UserId,
    /// How it ends: `session`, `tokens`, `cookie_jwt` or `page`.
    pub flavour: String,
    /// The login's "remember me".
    pub remember: bool,
    /// A hash of the client (address and user agent) it is bound to.
    pub client: Vec<u8>,
    /// The methods already passed (`amr` values, space-separated).
    pub passed: String,
    /// Wrong codes so far.
    pub attempts: u32,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// How finishing a pending login went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finished {
    /// Consumed: the login may be completed.
    Done(PendingLogin),
    /// The proof was not accepted (a replayed step, a used code); the
    /// pending login is kept.
    Refused,
    /// No such unexpired pending login.
    Gone,
}

#[async_trait]
pub trait SecondFactors: Send + Sync {
    /// Stores `factor` as the user's pending TOTP factor, replacing a
    /// pending one; `false` (nothing stored) if a confirmed one exists.
    async fn begin_totp(&self, factor: &TotpFactor) -> Result<bool>;
    async fn totp_factor(&self, user: UserId) -> Result<Option<TotpFactor>>;
    /// Confirms the user's pending factor with its first accepted `step`
    /// and replaces the recovery codes with `codes`, in one transaction;
    /// `false` if there was no pending factor.
    async fn confirm_totp(
        &self,
        user: UserId,
        step: i64,
        codes: &[[u8; 32]],
        now: Timestamp,
    ) -> Result<bool>;
    /// Accepts `proof` for `user` once (see [`Proof`]).
    async fn accept_proof(&self, user: UserId, proof: Proof<'_>, now: Timestamp) -> Result<bool>;
    /// Voids every recovery code of the user and stores `codes`, in one
    /// transaction.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: &[[u8; 32]],
        now: Timestamp,
    ) -> Result<()>;
    async fn recovery_state(&self, user: UserId) -> Result<RecoveryState>;
    /// Removes the user's TOTP factor, recovery codes and pending logins;
    /// `true` if there was a factor.
    async fn remove_second_factors(&self, user: UserId) -> Result<bool>;
}

#[async_trait]
pub trait PendingLogins: Send + Sync {
    /// Stores `login` under the SHA-256 of its token.
    async fn create_pending_login(&self, token: &[u8; 32], login: &PendingLogin) -> Result<()>;
    /// The unexpired pending login under `token`.
    async fn pending_login(&self, token: &[u8; 32], now: Timestamp)
    -> Result<Option<PendingLogin>>;
    /// Counts a wrong code; at `max` wrong codes the pending login is
    /// deleted. The new count, or `None` if there was no such login.
    async fn count_pending_failure(&self, token: &[u8; 32], max: u32) -> Result<Option<u32>>;
    /// Consumes the unexpired pending login under `token` if `proof` is
    /// accepted for its user, in one transaction.
    async fn finish_pending_login(
        &self,
        token: &[u8; 32],
        proof: Proof<'_>,
        now: Timestamp,
    ) -> Result<Finished>;
    /// Deletes pending logins past their expiry.
    async fn sweep_pending_logins(&self, now: Timestamp) -> Result<u64>;
}
