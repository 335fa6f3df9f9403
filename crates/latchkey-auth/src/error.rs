//! The one error type of the use cases. Messages never carry a secret.

use std::time::Duration;

use latchkey_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong password or unknown user: one answer for both.
    #[error("the username or password is wrong")]
    InvalidCredentials,
    /// The username is taken.
    #[error("that username is taken")]
    UsernameTaken,
    /// An admin key that is malformed, unknown or revoked.
    #[error("the admin key is invalid or revoked")]
    InvalidAdminKey,
    /// The account behind a credential is gone.
    #[error("no such account")]
    UnknownUser,
    /// A refresh token that is unknown, spent, expired or revoked.
    #[error("the refresh token is invalid, expired, spent or revoked")]
    InvalidGrant,
    /// Too many attempts for this account or address.
    #[error("too many attempts; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// Too many password hashes queued; come back shortly.
    #[error("too many password hashes queued")]
    Overloaded,
    /// A new value broke a rule (`invalid_password`, …): `code` is stable,
    /// `detail` is for people.
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
    /// A second-factor code that is wrong, replayed or used.
    #[error("the code is wrong or was already used")]
    InvalidCode,
    /// An `mfa_token` that is unknown, expired, used, ended by wrong codes
    /// or presented by another client.
    #[error("the mfa_token is invalid or expired")]
    InvalidMfaToken,
    /// Enrolling a factor the account already has.
    #[error("a second factor of this kind is already active")]
    FactorExists,
    /// Confirming, removing or using a factor the account does not have.
    #[error("no such second factor")]
    NoFactor,
    /// The operation needs the current password or a recent sign-in.
    #[error("this needs the current password or a recent sign-in")]
    ReauthenticationRequired,
    /// A WebAuthn answer that does not verify: unknown or spent ceremony,
    /// wrong origin or challenge, bad signature, unknown credential, or a
    /// counter that did not move forward (one answer for all).
    #[error("the passkey was refused")]
    PasskeyRefused,
    /// Passkeys are not configured on this server (no domain to be the
    /// relying party id).
    #[error("passkeys are not available on this server")]
    PasskeysUnavailable,
    /// A provider sign-in or logout that cannot be accepted (unknown,
    /// used or expired `state`, another browser, a refused code or token).
    #[error("the provider sign-in was refused: {0}")]
    FederationRefused(&'static str),
    /// The provider could not be reached (discovery has not succeeded).
    #[error("the provider is unavailable")]
    ProviderUnavailable,
    /// A new account would be needed and registration is off.
    #[error("registration is disabled")]
    RegistrationDisabled,
    /// The request conflicts with the account's state (`code` says how).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// `[email]` is not configured on this server.
    #[error("e-mail is not configured on this server")]
    EmailNotConfigured,
    /// Another account has this e-mail address.
    #[error("that e-mail address is taken")]
    EmailTaken,
    /// A verification or reset link that is unknown, used or expired.
    #[error("the link is invalid, used or expired")]
    InvalidLink,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}
