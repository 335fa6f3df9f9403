//! The one error type of the HTTP surface, rendered as RFC 9457 problem
//! JSON with a stable `code`. Server-side failures get an opaque body; their
//! cause is logged (never a secret: store errors carry no bound values).

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    /// Wrong password or unknown user: one answer for both.
    InvalidCredentials,
    /// A WebAuthn answer that does not verify (one answer for every cause).
    PasskeyRefused,
    /// No relying party is configured.
    PasskeysUnavailable,
    /// No valid credential. `clear` is a `Set-Cookie` that removes a
    /// stale session cookie the client sent, if it sent one.
    Unauthenticated {
        clear: Option<HeaderValue>,
    },
    /// A bearer token that does not verify, has expired or was revoked.
    InvalidToken,
    /// An admin route without a live admin key (a user's credential is
    /// never one).
    InvalidAdminKey,
    /// The admin key lacks the scope the route needs.
    InsufficientScope(&'static str),
    /// An admin route's user id names no user.
    UserNotFound,
    /// A refresh token that is unknown, spent, expired or revoked.
    InvalidGrant,
    /// Wrong or missing client credentials (introspection).
    InvalidClient,
    /// An access token in the query string: never accepted (RFC 6750 §2.3
    /// leaks it into logs and `Referer`).
    TokenInQuery,
    CsrfFailed,
    RegistrationDisabled,
    NotFound,
    MethodNotAllowed,
    UsernameTaken,
    /// Another account has this e-mail address.
    EmailTaken,
    /// `[email]` is not configured.
    EmailNotConfigured,
    /// A verification or reset link that is unknown, used or expired.
    InvalidLink,
    /// The password was right and a second factor is needed:
    /// `POST /v1/mfa/verify` with `mfa_token` completes the login.
    MfaRequired {
        mfa_token: String,
        methods: Vec<&'static str>,
    },
    /// A second-factor code that is wrong, replayed or used.
    InvalidCode,
    /// An `mfa_token` that is unknown, expired, used, ended by wrong codes
    /// or presented by another client.
    InvalidMfaToken,
    /// Enrolling a factor the account already has.
    MfaAlreadyEnabled,
    /// Confirming, removing or using a factor the account does not have.
    MfaNotEnabled,
    /// Needs the current password or a recent sign-in.
    ReauthenticationRequired,
    /// A write lost a race with another (e.g. the user was deleted
    /// meanwhile): nothing was changed.
    Conflict,
    /// The request conflicts with the account's state (`last_way_in`, …).
    ConflictWith {
        code: &'static str,
        detail: String,
    },
    /// A field broke a rule (`invalid_username`, `invalid_password`, …).
    Invalid {
        code: &'static str,
        detail: String,
    },
    /// Refused by a rule (`untrusted_proxy`, `access_denied`, …).
    Forbidden {
        code: &'static str,
        detail: String,
    },
    /// The body is not JSON, or not the JSON expected.
    BadRequest {
        code: &'static str,
        detail: String,
    },
    UnsupportedMediaType,
    PayloadTooLarge,
    /// The request body did not arrive within `server.body_read_timeout`.
    RequestTimeout,
    HeadersTooLarge,
    RateLimited {
        retry_after: Duration,
    },
    /// Too many password hashes queued; come back shortly.
    Overloaded,
    StoreUnavailable(String),
    /// The node has lost its view of revocations (store unreachable), so
    /// it refuses tokens it cannot vouch for.
    RevocationStateUnknown,
    /// The BFF's upstream refused or reset the connection.
    UpstreamUnavailable(String),
    /// The BFF's upstream did not answer within its timeout.
    UpstreamTimeout(String),
    Internal(String),
}

/// The RFC 9457 body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable error code.
    pub code: &'static str,
    /// With `mfa_required`: the opaque, single-use token for
    /// `POST /v1/mfa/verify` (5 minutes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
    /// With `mfa_required`: the methods that can complete the login
    /// (`totp`, `recovery_code`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<&'static str>>,
}

// The longer details, named so that `detail` stays one screen.
const PASSKEYS_OFF: &str = "Passkeys are not configured on this server (see webauthn.rp_id).";
const ADMIN_KEY: &str = "Admin routes need `Authorization: Bearer` with a live admin key.";
const TOKEN_IN_QUERY: &str =
    "Access tokens are accepted in the Authorization header, never in the URL.";
const CSRF: &str = "The request lacks a valid X-CSRF-Token or comes from another site.";
const MFA_TOKEN: &str = "The mfa_token is invalid, expired or used; sign in again.";
const REAUTH: &str = "This needs the current password or a sign-in less than 5 minutes old.";
const CONFLICT: &str =
    "The request conflicted with another change; nothing was changed. Try again.";
const REVOCATIONS: &str = "Token revocations cannot be checked right now; try again shortly.";
const MFA_REQUIRED: &str =
    "A second factor is required: send a code with the mfa_token to /v1/mfa/verify.";

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidCredentials
            | Self::PasskeyRefused
            | Self::Unauthenticated { .. }
            | Self::InvalidToken
            | Self::InvalidAdminKey
            | Self::InvalidGrant
            | Self::InvalidClient
            | Self::MfaRequired { .. }
            | Self::InvalidCode
            | Self::InvalidMfaToken => StatusCode::UNAUTHORIZED,
            Self::ReauthenticationRequired => StatusCode::FORBIDDEN,
            Self::MfaAlreadyEnabled | Self::MfaNotEnabled => StatusCode::CONFLICT,
            Self::TokenInQuery => StatusCode::BAD_REQUEST,
            Self::CsrfFailed | Self::RegistrationDisabled | Self::InsufficientScope(_) => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound | Self::PasskeysUnavailable | Self::UserNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UsernameTaken | Self::Conflict | Self::ConflictWith { .. } | Self::EmailTaken => {
                StatusCode::CONFLICT
            }
            Self::EmailNotConfigured => StatusCode::NOT_IMPLEMENTED,
            Self::InvalidLink => StatusCode::UNAUTHORIZED,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded | Self::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::RevocationStateUnknown => StatusCode::SERVICE_UNAVAILABLE,
            Self::UpstreamUnavailable(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::PasskeyRefused => "passkey_refused",
            Self::PasskeysUnavailable => "passkeys_unavailable",
            Self::Unauthenticated { .. } => "unauthenticated",
            Self::InvalidToken => "invalid_token",
            Self::InvalidAdminKey => "invalid_admin_key",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::UserNotFound => "user_not_found",
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidClient => "invalid_client",
            Self::TokenInQuery => "token_in_query",
            Self::MfaRequired { .. } => "mfa_required",
            Self::InvalidCode => "invalid_code",
            Self::InvalidMfaToken => "invalid_mfa_token",
            Self::MfaAlreadyEnabled => "mfa_already_enabled",
            Self::MfaNotEnabled => "mfa_not_enabled",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::CsrfFailed => "csrf_failed",
            Self::RegistrationDisabled => "registration_disabled",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UsernameTaken => "username_taken",
            Self::EmailTaken => "email_taken",
            Self::EmailNotConfigured => "email_not_configured",
            Self::InvalidLink => "invalid_link",
            Self::Conflict => "conflict",
            Self::Invalid { code, .. }
            | Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::ConflictWith { code, .. } => code,
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RequestTimeout => "request_timeout",
            Self::HeadersTooLarge => "headers_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::StoreUnavailable(_) => "store_unavailable",
            Self::RevocationStateUnknown => "revocation_state_unknown",
            Self::UpstreamUnavailable(_) => "upstream_unavailable",
            Self::UpstreamTimeout(_) => "upstream_timeout",
            Self::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        self.status().canonical_reason().unwrap_or("Error")
    }

    fn detail(&self) -> String {
        match self {
            Self::InvalidCredentials => "The username or password is wrong.".into(),
            Self::PasskeyRefused => "The passkey was refused; start again.".into(),
            Self::PasskeysUnavailable => PASSKEYS_OFF.into(),
            Self::Unauthenticated { .. } => "A valid credential is required.".into(),
            Self::InvalidToken => "The access token is invalid, expired or revoked.".into(),
            Self::InvalidAdminKey => ADMIN_KEY.into(),
            Self::InsufficientScope(scope) => format!("The admin key lacks the `{scope}` scope."),
            Self::UserNotFound => "There is no user with this id.".into(),
            Self::InvalidGrant => "The refresh token is invalid, expired, spent or revoked.".into(),
            Self::InvalidClient => "Client authentication failed.".into(),
            Self::TokenInQuery => TOKEN_IN_QUERY.into(),
            Self::CsrfFailed => CSRF.into(),
            Self::RegistrationDisabled => "Registration is disabled on this server.".into(),
            Self::MfaRequired { .. } => MFA_REQUIRED.into(),
            Self::InvalidCode => "The code is wrong or was already used.".into(),
            Self::InvalidMfaToken => MFA_TOKEN.into(),
            Self::MfaAlreadyEnabled => "This second factor is already active.".into(),
            Self::MfaNotEnabled => "There is no such second factor to use or change.".into(),
            Self::ReauthenticationRequired => REAUTH.into(),
            Self::NotFound => "There is nothing here.".into(),
            Self::MethodNotAllowed => "This method is not allowed here.".into(),
            Self::UsernameTaken => "That username is taken.".into(),
            Self::EmailTaken => "That e-mail address belongs to another account.".into(),
            Self::EmailNotConfigured => "E-mail is not configured on this server.".into(),
            Self::InvalidLink => "The link is invalid, used or expired.".into(),
            Self::Conflict => CONFLICT.into(),
            Self::Invalid { detail, .. }
            | Self::BadRequest { detail, .. }
            | Self::Forbidden { detail, .. }
            | Self::ConflictWith { detail, .. } => detail.clone(),
            Self::UnsupportedMediaType => "The body must be application/json.".into(),
            Self::PayloadTooLarge => "The request body is too large.".into(),
            Self::RequestTimeout => "The request body did not arrive in time.".into(),
            Self::HeadersTooLarge => "The request headers are too large.".into(),
            Self::RateLimited { .. } => "Too many attempts; try again later.".into(),
            Self::Overloaded => "The server is busy; try again shortly.".into(),
            Self::StoreUnavailable(_) => "The store is unavailable; try again shortly.".into(),
            Self::RevocationStateUnknown => REVOCATIONS.into(),
            Self::UpstreamUnavailable(api) => format!("The upstream API `{api}` is unreachable."),
            Self::UpstreamTimeout(api) => {
                format!("The upstream API `{api}` did not answer in time.")
            }
            Self::Internal(_) => "An internal error occurred.".into(),
        }
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:latchkey:problem:{}", self.code()),
            title: self.title(),
            status: self.status().as_u16(),
            detail: self.detail(),
            code: self.code(),
            mfa_token: match self {
                Self::MfaRequired { mfa_token, .. } => Some(mfa_token.clone()),
                _ => None,
            },
            methods: match self {
                Self::MfaRequired { methods, .. } => Some(methods.clone()),
                _ => None,
            },
        }
    }
}

mod convert;
mod response;

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_auth::AuthError;
    use latchkey_store::StoreError;

    #[test]
    fn an_unexpected_store_conflict_is_409_conflict_not_500() {
        // E.g. a login racing the deletion of its user: the refresh family's
        // reference to the user is refused by the store.
        let e = ApiError::from(StoreError::Conflict("refresh family for an unknown user"));
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert_eq!(e.code(), "conflict");
        let e = ApiError::from(AuthError::Store(StoreError::Conflict("x")));
        assert_eq!(e.status(), StatusCode::CONFLICT);
    }
}
