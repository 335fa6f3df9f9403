//! What authenticating yields: a principal, or a challenge that needs
//! another step. Today only the password method exists, so every success
//! is a principal; a second factor turns a password success into a
//! [`Challenge`] accepting that factor, and a provider or an e-mail code is
//! one more source of a [`Principal`].

use latchkey_core::{Timestamp, UserId};
use latchkey_store::User;

/// A way of proving who one is, named as in RFC 8176 (`amr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// A password (`pwd`).
    Password,
    /// A TOTP code (`otp`).
    Totp,
    /// A recovery code, a one-time password too (`otp`).
    RecoveryCode,
}

impl Method {
    /// The RFC 8176 `amr` value.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::Totp | Self::RecoveryCode => "otp",
        }
    }

    /// The name a challenge offers it under (`methods` of `mfa_required`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
        }
    }

    /// Whether it is a second factor (beside a password).
    pub fn is_second_factor(self) -> bool {
        !matches!(self, Self::Password)
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
}

impl Principal {
    /// The `amr` values, as a token or a session would carry them: each
    /// method's, then `mfa` when a second factor followed a first.
    pub fn amr_values(&self) -> Vec<&'static str> {
        let mut values: Vec<&'static str> = Vec::new();
        for m in &self.amr {
            if !values.contains(&m.amr()) {
                values.push(m.amr());
            }
        }
        let second = self.amr.iter().any(|m| m.is_second_factor());
        if second && self.amr.len() > 1 {
            values.push("mfa");
        }
        values
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
