//! The one mapping from the store's and the use cases' errors to HTTP.

use latchkey_auth::AuthError;
use latchkey_store::StoreError;

use super::ApiError;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => Self::StoreUnavailable(m),
            // A broken uniqueness or reference rule the handler did not
            // expect is a lost race, not a server fault.
            StoreError::Conflict(_) => Self::Conflict,
            other => Self::Internal(other.to_string()),
        }
    }
}

/// The one mapping from the use cases' errors to HTTP.
impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials => Self::InvalidCredentials,
            AuthError::UsernameTaken => Self::UsernameTaken,
            AuthError::InvalidAdminKey => Self::InvalidAdminKey,
            AuthError::InvalidGrant => Self::InvalidGrant,
            AuthError::PasskeyRefused => Self::PasskeyRefused,
            AuthError::PasskeysUnavailable => Self::PasskeysUnavailable,
            AuthError::UnknownUser => Self::Unauthenticated { clear: None },
            AuthError::RateLimited { retry_after } => Self::RateLimited { retry_after },
            AuthError::Overloaded => Self::Overloaded,
            AuthError::Invalid { code, detail } => Self::Invalid { code, detail },
            AuthError::InvalidCode => Self::InvalidCode,
            AuthError::InvalidMfaToken => Self::InvalidMfaToken,
            AuthError::FactorExists => Self::MfaAlreadyEnabled,
            AuthError::NoFactor => Self::MfaNotEnabled,
            AuthError::ReauthenticationRequired => Self::ReauthenticationRequired,
            AuthError::FederationRefused(why) => Self::BadRequest {
                code: "oidc_failed",
                detail: format!("The provider sign-in was refused: {why}."),
            },
            AuthError::ProviderUnavailable => Self::UpstreamUnavailable("OpenID provider".into()),
            AuthError::RegistrationDisabled => Self::RegistrationDisabled,
            AuthError::Conflict { code, detail } => Self::ConflictWith { code, detail },
            AuthError::EmailNotConfigured => Self::EmailNotConfigured,
            AuthError::EmailTaken => Self::EmailTaken,
            AuthError::InvalidLink => Self::InvalidLink,
            AuthError::Store(e) => e.into(),
            AuthError::Internal(cause) => Self::Internal(cause),
        }
    }
}
