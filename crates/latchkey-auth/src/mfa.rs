//! Managing second factors: enrolling TOTP (pending until a correct code
//! confirms it), recovery codes, removing factors (current password or a
//! recent sign-in), stepping up an existing sign-in, and the operator's
//! reset.

use crate::audit::kind;
use std::net::IpAddr;

use latchkey_core::{Assurance, Timestamp, UserId};
use latchkey_store::{Ended, Keep, RecoveryState, RevokeAt, Store};

use crate::assurance::Reauthenticate;
use crate::error::AuthError;
use crate::login::throttle_keys;
use crate::principal::Method;
use crate::second_factor::used;
use crate::service::AuthService;
use crate::{random, recovery, totp};

/// A TOTP enrolment to show once: the secret for typing in, and the URI
/// for a QR code.
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(..)")
    }
}

/// What the account page shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MfaState {
    /// A confirmed TOTP factor.
    pub totp: bool,
    /// An enrolment waiting for its first code.
    pub totp_pending: bool,
    pub recovery: RecoveryState,
}

/// How a caller proves it is still the account holder.
#[derive(Debug)]
pub struct Reauthentication {
    pub user: UserId,
    pub address: Option<IpAddr>,
    /// The current password, if given.
    pub password: Option<String>,
    /// When the calling credential's sign-in happened, if known.
    pub auth_time: Option<Timestamp>,
}

impl AuthService {
    /// Starts (or restarts) a TOTP enrolment for `user`; `FactorExists` if
    /// one is active.
    pub async fn begin_totp(&self, user: UserId, issuer: &str) -> Result<TotpEnrolment, AuthError> {
        let account = self.account(user).await?;
        let secret = random::<{ totp::SECRET_LEN }>()?;
        let factor = totp::new_factor(user, &secret, self.sealing.as_ref(), self.clock.now())?;
        if !self.store.begin_totp(&factor).await? {
            return Err(AuthError::FactorExists);
        }
        Ok(TotpEnrolment {
            secret: totp::base32(&secret),
            otpauth_uri: totp::otpauth_uri(&secret, issuer, account.username.as_str())?,
        })
    }

    /// The pending enrolment of `user` again (to show the set-up once more
    /// after a wrong code), if there is one.
    pub async fn pending_totp(
        &self,
        user: UserId,
        issuer: &str,
    ) -> Result<Option<TotpEnrolment>, AuthError> {
        let Some(factor) = self.store.totp_factor(user).await? else {
            return Ok(None);
        };
        if factor.confirmed_at.is_some() {
            return Ok(None);
        }
        let account = self.account(user).await?;
        let secret = totp::open_secret(&factor, self.sealing.as_ref())?;
        Ok(Some(TotpEnrolment {
            secret: totp::base32(&secret),
            otpauth_uri: totp::otpauth_uri(&secret, issuer, account.username.as_str())?,
        }))
    }

    /// Confirms the pending enrolment with a correct `code`; returns the
    /// first set of recovery codes (to show once).
    pub async fn confirm_totp(&self, user: UserId, code: &str) -> Result<Vec<String>, AuthError> {
        let factor = self
            .store
            .totp_factor(user)
            .await?
            .filter(|f| f.confirmed_at.is_none())
            .ok_or(AuthError::NoFactor)?;
        let secret = totp::open_secret(&factor, self.sealing.as_ref())?;
        let now = self.clock.now();
        let step = totp::check(&secret, code.trim(), now).ok_or(AuthError::InvalidCode)?;
        let (codes, hashes) = recovery::new_set()?;
        if !self.store.confirm_totp(user, step, &hashes, now).await? {
            return Err(AuthError::NoFactor);
        }
        tracing::info!(user_id = %user, "TOTP enrolled");
        let detail = serde_json::json!({ "method": "totp" });
        self.audit(kind::MFA_ENROLLED, Some(user), detail).await;
        Ok(codes)
    }

    /// Removes `who`'s TOTP factor and recovery codes.
    pub async fn remove_totp(&self, who: Reauthentication) -> Result<(), AuthError> {
        let user = who.user;
        self.reauthenticate(who).await?;
        if !self.store.remove_second_factors(user).await? {
            return Err(AuthError::NoFactor);
        }
        tracing::info!(user_id = %user, "TOTP removed");
        let detail = serde_json::json!({ "method": "totp" });
        self.audit(kind::MFA_REMOVED, Some(user), detail).await;
        Ok(())
    }

    /// A new set of recovery codes for `who` (the old set void).
    pub async fn regenerate_recovery_codes(
        &self,
        who: Reauthentication,
    ) -> Result<Vec<String>, AuthError> {
        let user = who.user;
        self.reauthenticate(who).await?;
        if !self.second_factors_of(user).await?.contains(&Method::Totp) {
            return Err(AuthError::NoFactor);
        }
        let (codes, hashes) = recovery::new_set()?;
        self.store
            .replace_recovery_codes(user, &hashes, self.clock.now())
            .await?;
        tracing::info!(user_id = %user, "recovery codes regenerated");
        let detail = serde_json::json!({ "method": "recovery_code" });
        self.audit(kind::MFA_ENROLLED, Some(user), detail).await;
        Ok(codes)
    }

    /// Re-checks a second factor of a signed-in `user` (throttled like a
    /// login) and raises `credential`'s assurance: the method joins its
    /// `amr` and its `auth_time` becomes now. The method and the raised
    /// assurance (`None`: the credential ended meanwhile).
    pub async fn step_up(
        &self,
        user: UserId,
        address: Option<IpAddr>,
        code: &str,
        credential: Reauthenticate<'_>,
    ) -> Result<(Method, Option<Assurance>), AuthError> {
        let account = self.account(user).await?;
        let keys = throttle_keys(Some(&account.username), address);
        self.count_attempt(&keys).await?;
        let now = self.clock.now();
        let Some((presented, method)) = self.classify(&account, code).await? else {
            return Err(AuthError::InvalidCode);
        };
        if !self
            .store
            .accept_proof(user, presented.proof(), now)
            .await?
        {
            return Err(AuthError::InvalidCode);
        }
        self.settle(&keys).await?;
        used(&account, method);
        let raised = self.reauthenticated(credential, &[method], false).await?;
        Ok((method, raised))
    }

    /// What the account page shows about `user`'s second factors.
    pub async fn mfa_state(&self, user: UserId) -> Result<MfaState, AuthError> {
        let factor = self.store.totp_factor(user).await?;
        Ok(MfaState {
            totp: factor.as_ref().is_some_and(|f| f.confirmed_at.is_some()),
            totp_pending: factor.as_ref().is_some_and(|f| f.confirmed_at.is_none()),
            recovery: self.store.recovery_state(user).await?,
        })
    }

    /// [`reset_mfa`] with this service's store and revocation lifetime.
    pub async fn reset_mfa(&self, user: UserId) -> Result<Ended, AuthError> {
        let describe = self.describe(kind::MFA_REMOVED, Some(user), |_| {
            Some(serde_json::json!({ "method": "all" }))
        });
        let ended = reset_mfa(
            self.store.as_ref(),
            self.revoke_at().recording(&describe),
            user,
        )
        .await?;
        self.log_change(&describe, &ended);
        Ok(ended)
    }

    /// The current password (checked like a login) or a recent sign-in
    /// ([`AuthPolicy::recent_auth`](crate::AuthPolicy::recent_auth)).
    async fn reauthenticate(&self, who: Reauthentication) -> Result<(), AuthError> {
        if let Some(password) = who.password {
            let account = self.account(who.user).await?;
            self.check_password(who.address, account.username.as_str(), password)
                .await?;
            return Ok(());
        }
        match who.auth_time {
            Some(t) if self.signed_in_recently(t) => Ok(()),
            _ => Err(AuthError::ReauthenticationRequired),
        }
    }

    async fn account(&self, user: UserId) -> Result<latchkey_store::User, AuthError> {
        self.store
            .user_by_id(user)
            .await?
            .ok_or(AuthError::UnknownUser)
    }
}

/// The operator's reset (`latchkey user mfa-reset`): every second factor
/// of `user` removed, every session and family ended with a not-before
/// (returned, for a node's denylist).
pub async fn reset_mfa(
    store: &dyn Store,
    at: RevokeAt<'_>,
    user: UserId,
) -> Result<Ended, AuthError> {
    store.remove_second_factors(user).await?;
    // Passkeys are factors too (a second one after a password, or the
    // only one): a reset leaves the password alone as the way in.
    for passkey in store.passkeys_of(user).await? {
        store.delete_passkey(&passkey.id, user).await?;
    }
    let ended = store
        .end_user_sessions(user, Keep::default(), at, true)
        .await?;
    tracing::warn!(user_id = %user, "second factors reset by an operator");
    Ok(ended)
}
