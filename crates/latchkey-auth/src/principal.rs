//! What authenticating yields: a principal, or a challenge that needs
//! another step. A password success is a principal, or, for an account
//! with a second factor, a [`Challenge`] accepting that factor; a passkey,
//! a provider or an e-mail code is one more source of a [`Principal`].
//!
//! A principal's [`Assurance`] (its `amr` values and `auth_time`) is what
//! the credential issued for it records: the session or refresh family,
//! and every access token minted from it.

use std::time::Duration;

use latchkey_core::{Assurance, Timestamp, UserId};
use latchkey_store::User;

/// A way of proving who one is, named as in RFC 8176 (`amr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// A password (`pwd`).
    Password,
    /// A TOTP code (`otp`).
    Totp,
    /// A single-use recovery code: a one-time password (`otp`).
    RecoveryCode,
    /// A WebAuthn credential: `hwk` when its key is bound to hardware
    /// (attested, or a security key), `swk` otherwise (a synced passkey).
    Passkey { hardware: bool },
    /// A sign-in at an OpenID Connect provider (`fed`).
    Federated,
    /// A code sent by e-mail (`email`).
    Email,
}

impl Method {
    /// The RFC 8176 `amr` value.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::Totp | Self::RecoveryCode => "otp",
            Self::Passkey { hardware: true } => "hwk",
            Self::Passkey { hardware: false } => "swk",
            Self::Federated => "fed",
            Self::Email => "email",
        }
    }

    /// The name a challenge offers it under (`methods` of `mfa_required`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::Passkey { .. } => "webauthn",
            Self::Federated => "federated",
            Self::Email => "email",
        }
    }
}

/// A fully authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: User,
    /// The methods used, in order (`amr`).
    pub amr: Vec<Method>,
    /// When the last method succeeded.
    pub auth_time: Timestamp,
    /// One method that already proved two factors: a passkey with user
    /// verification (the device's PIN or biometric, then its key). Adds
    /// `mfa` to [`amr_values`](Self::amr_values) whatever the methods.
    pub multi_factor: bool,
    /// The provider sign-in this principal came from, if any: the
    /// credential issued for it is recorded as that provider session's, so
    /// a back-channel logout ends it.
    pub federated: Option<latchkey_store::FederatedLogin>,
}

impl Principal {
    /// `user`, authenticated with `amr` (the last at `auth_time`).
    pub fn new(user: User, amr: Vec<Method>, auth_time: Timestamp) -> Self {
        Self {
            user,
            amr,
            auth_time,
            multi_factor: false,
            federated: None,
        }
    }

    /// The `amr` values, as a token or a session carries them: each once,
    /// in order, then `mfa` when methods of two different factors were used
    /// (a password and a code, say) or one method counted as two
    /// ([`multi_factor`](Self::multi_factor)).
    pub fn amr_values(&self) -> Vec<&'static str> {
        let mut values: Vec<&'static str> = Vec::new();
        for value in self.amr.iter().map(|m| m.amr()) {
            if !values.contains(&value) {
                values.push(value);
            }
        }
        if self.multi_factor || latchkey_core::assurance::spans_factors(values.iter().copied()) {
            values.push(latchkey_core::assurance::MFA);
        }
        values
    }

    /// What a credential issued for this principal records.
    pub fn assurance(&self) -> Assurance {
        Assurance::new(self.amr_values(), self.auth_time)
    }

    /// Whether this principal authenticated within `within` before `now`.
    pub fn signed_in_within(&self, now: Timestamp, within: Duration) -> bool {
        latchkey_core::assurance::recent(self.auth_time, now, within)
    }
}

/// A login that needs another step before it is a principal.
#[derive(Clone, Debug)]
pub struct Challenge {
    pub user_id: UserId,
    /// The `mfa_token` that answers it (set once the pending login is
    /// stored, see `AuthService::start_pending_login`).
    pub token: Option<String>,
    /// The methods already passed.
    pub passed: Vec<Method>,
    /// The methods that can complete the login.
    pub accepts: Vec<Method>,
}

/// The outcome of one authentication step.
#[derive(Clone, Debug)]
pub enum Authentication {
    Principal(Principal),
    Challenge(Challenge),
}

#[cfg(test)]
mod tests {
    use latchkey_core::{PasswordHash, UserId, Username};

    use super::*;

    fn principal(amr: Vec<Method>, multi_factor: bool) -> Principal {
        let user = User {
            id: UserId::from_random([1; 16]),
            username: Username::parse("alice").unwrap_or_else(|_| unreachable!()),
            password_hash: Some(PasswordHash::from_stored("x".into())),
            created_at: Timestamp::from_unix_millis(0),
            disabled_at: None,
        };
        Principal {
            multi_factor,
            ..Principal::new(user, amr, Timestamp::from_unix_millis(1_000))
        }
    }

    #[test]
    fn each_method_has_its_rfc_8176_value() {
        let values: Vec<_> = [
            Method::Password,
            Method::Totp,
            Method::RecoveryCode,
            Method::Passkey { hardware: true },
            Method::Passkey { hardware: false },
            Method::Federated,
            Method::Email,
        ]
        .map(Method::amr)
        .into();
        assert_eq!(values, ["pwd", "otp", "otp", "hwk", "swk", "fed", "email"]);
    }

    #[test]
    fn two_factors_or_a_verified_passkey_make_mfa() {
        let pwd = principal(vec![Method::Password], false);
        assert_eq!(pwd.amr_values(), ["pwd"]);
        let two = principal(vec![Method::Password, Method::Totp], false);
        assert_eq!(two.amr_values(), ["pwd", "otp", "mfa"]);
        let recovery = principal(vec![Method::Password, Method::RecoveryCode], false);
        assert_eq!(recovery.amr_values(), ["pwd", "otp", "mfa"]);
        let codes = principal(vec![Method::Totp, Method::RecoveryCode], false);
        assert_eq!(codes.amr_values(), ["otp"]);
        let passkey = principal(vec![Method::Passkey { hardware: false }], true);
        assert_eq!(passkey.amr_values(), ["swk", "mfa"]);
        let fed = principal(vec![Method::Federated], false);
        assert_eq!(fed.assurance().amr, ["fed"]);
        assert_eq!(
            two.assurance().auth_time,
            Timestamp::from_unix_millis(1_000)
        );
    }

    #[test]
    fn a_recent_sign_in_is_exact_at_its_edge() {
        let p = principal(vec![Method::Password], false);
        let five = Duration::from_secs(300);
        assert!(p.signed_in_within(Timestamp::from_unix_millis(300_999), five));
        assert!(!p.signed_in_within(Timestamp::from_unix_millis(301_000), five));
    }
}
