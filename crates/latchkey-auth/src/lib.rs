//! latchkey's use cases, between the HTTP surface and the store: checking
//! a login (with its throttle), hashing passwords under a bound, the
//! signing-key ring and access-token minting and verification.
//!
//! Nothing here knows HTTP: failures are [`AuthError`]s, which the HTTP
//! crate turns into problem JSON in one place, and the CLI into messages.

pub mod access;
pub mod admin;
pub mod assurance;
pub mod audit;
pub mod email;
pub mod error;
pub mod federation;
mod federation_accounts;
mod federation_stash;
pub mod issue;
pub mod keyring;
pub mod login;
pub mod logins;
pub mod mfa;
pub mod mfa_passkey;
pub mod passkeys;
pub mod password_change;
pub mod passwords;
pub mod principal;
pub mod recovery;
pub mod relying_party;
pub mod second_factor;
pub mod service;
pub mod sessions;
pub mod totp;

pub use access::{BearerError, Subject, TokenService, TokenSettings};
pub use assurance::Reauthenticate;
pub use email::{EmailSettings, RecipientLimit};
pub use error::AuthError;
pub use federation::{Federated, Started};
pub use issue::{BearerPair, Device, HybridLogin, IssuedSession, Refreshed, hybrid_binding};
pub use logins::LiveLogin;
pub use mfa::{MfaState, Reauthentication, TotpEnrolment};
pub use passkeys::LoginOptions;
pub use password_change::{PasswordChange, policy_error};
pub use passwords::PasswordService;
pub use principal::{Authentication, Challenge, Method, Principal};
pub use relying_party::PasskeySettings;
pub use second_factor::{Flavour, SecondStep};
pub use service::{AuthPolicy, AuthService};
pub use sessions::EndSessions;
pub use totp::SealingKey;
pub use webauthn_rs::prelude as webauthn;

/// `N` bytes from the OS CSPRNG.
pub fn random<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Internal(format!("OS random failed: {e}")))?;
    Ok(buf)
}
