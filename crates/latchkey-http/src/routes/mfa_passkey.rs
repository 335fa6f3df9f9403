//! A passkey as the second step of a login: `POST /v1/mfa/webauthn/options`
//! starts a ceremony for the pending login behind an `mfa_token`, and
//! `POST /v1/mfa/verify {"mfa_token","challenge_id","credential"}`
//! finishes it (see `mfa.rs`).

use axum::extract::State;
use axum::response::Response;
use latchkey_auth::webauthn::PublicKeyCredential;
use latchkey_auth::{AuthError, SecondStep};
use serde::Deserialize;

use crate::auth::SameSiteLogin;
use crate::caller::Caller;
use crate::error::{ApiError, Problem};
use crate::json::AppJson;
use crate::login::{device, mfa_outcome};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct MfaTokenRequest {
    /// From the `mfa_required` answer of the login.
    pub mfa_token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasskeyVerifyRequest {
    /// From the `mfa_required` answer of the login.
    pub mfa_token: String,
    /// From `POST /v1/mfa/webauthn/options`.
    pub challenge_id: String,
    /// The browser's `PublicKeyCredential` from `navigator.credentials.get`,
    /// in its JSON form.
    #[schema(value_type = super::webauthn_json::AssertionCredentialJson)]
    pub credential: PublicKeyCredential,
}

/// Options for `navigator.credentials.get` allowing only the passkeys of
/// the user whose login is pending behind `mfa_token` (user verification
/// required), and the `challenge_id` to answer `POST /v1/mfa/verify` with.
/// The ceremony is bound to that pending login, lives five minutes and is
/// used once.
#[utoipa::path(post, path = "/v1/mfa/webauthn/options", tag = "mfa",
    operation_id = "mfa_webauthn_options",
    request_body = MfaTokenRequest,
    responses(
        (status = 200, body = Object, description = "`{\"challenge_id\", \"publicKey\": …}`"),
        (status = 401, body = Problem, description = "invalid_mfa_token; passkey_refused: the user has no passkey"),
        (status = 403, body = Problem, description = "csrf_failed: cross-site"),
        (status = 404, body = Problem, description = "passkeys_unavailable"),
        (status = 429, body = Problem, description = "rate_limited"),
        (status = 503, body = Problem, description = "overloaded: too many ceremonies waiting"),
    ))]
pub async fn options(
    State(state): State<AppState>,
    _: SameSiteLogin,
    client: Caller,
    AppJson(body): AppJson<MfaTokenRequest>,
) -> Result<Response, ApiError> {
    let started = state
        .auth
        .start_mfa_passkey(&body.mfa_token, &device(&client))
        .await?;
    super::passkeys::options_answer(started)
}

/// The passkey second step, counted in the metrics like a code.
pub async fn passkey_step(
    state: &AppState,
    client: &Caller,
    body: &PasskeyVerifyRequest,
) -> Result<SecondStep, AuthError> {
    let outcome = state
        .auth
        .verify_mfa_passkey(
            &body.mfa_token,
            &body.challenge_id,
            &body.credential,
            &device(client),
        )
        .await;
    state
        .metrics
        .mfa("webauthn", mfa_outcome(&outcome, "success"));
    outcome
}
