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
    /// A passkey with user verification: `hwk` when bound to one device
    /// (not backup-eligible), `swk` when it can be synced.
    Passkey { hardware: bool },
}

impl Method {
    /// The RFC 8176 `amr` value.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::Passkey { hardware: true } => "hwk",
            Self::Passkey { hardware: false } => "swk",
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
}

impl Principal {
    /// The `amr` values, as a token or a session would carry them.
    pub fn amr_values(&self) -> Vec<&'static str> {
        self.amr.iter().map(|m| m.amr()).collect()
    }
}

/// A login that needs another step before it is a principal.
#[derive(Clone, Debug)]
pub struct Challenge {
    pub user_id: UserId,
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
