//! The pages' side of second factors: the sign-in's code step
//! (`/login/code`) and TOTP on the account page (`/account/mfa/*`). Forms
//! only, no script; each form handler gets the session through `UiForm`
//! (CSRF token and origin checked) or, for the code step, `SameSitePage`
//! (the pending login is bound to the client anyway).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use latchkey_auth::{AuthError, Reauthentication};
use serde::Deserialize;

use super::mfa_pages::{self, CodeMessage};
use super::pages::LoginMessage;
use super::{CsrfField, CsrfOnly, PageForm, SameSitePage, UiForm, error_page, page, see_other};
use crate::caller::Caller;
use crate::login::{issue_session, issuer_label, second_step};
use crate::state::AppState;

/// The sign-in's code step.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeForm {
    /// The pending login, from the page's hidden field.
    mfa_token: String,
    /// A TOTP code or a recovery code.
    code: String,
    /// Present when the page offered the user's passkey too (it offers it
    /// again when the code was wrong).
    #[serde(default)]
    passkey: Option<String>,
    /// Where to go once signed in (carried from the sign-in form).
    #[schema(value_type = String, required = false)]
    rd: Option<String>,
}

/// A form with the anti-forgery token and a code.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TotpConfirmForm {
    csrf_token: String,
    code: String,
}

impl CsrfField for TotpConfirmForm {
    fn csrf(&self) -> &str {
        &self.csrf_token
    }
}

/// A form with the anti-forgery token and the current password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CurrentPasswordForm {
    csrf_token: String,
    password: String,
}

impl CsrfField for CurrentPasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf_token
    }
}

/// Finish signing in with a code.
#[utoipa::path(post, path = "/login/code", tag = "ui", operation_id = "ui_login_code",
    request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Signed in: to /account, with the session cookie"),
              (status = 401, content_type = "text/html", body = String, description = "The code form again (wrong code), or the sign-in form (the sign-in expired)"),
              (status = 403, content_type = "text/html", body = String, description = "Cross-site"),
              (status = 429, content_type = "text/html", body = String, description = "The code form again: too many attempts")))]
pub async fn login_code(
    State(state): State<AppState>,
    _: SameSitePage,
    client: Caller,
    headers: HeaderMap,
    PageForm(form): PageForm<CodeForm>,
) -> Response {
    let passkey_step = form.passkey.is_some();
    let rd = super::return_to(&state, form.rd.as_deref());
    let again = |status, message| {
        let step = (form.mfa_token.as_str(), &message, passkey_step);
        code_step_page(&state, status, step, rd.as_deref())
    };
    let step = match second_step(&state, &client, &form.mfa_token, &form.code).await {
        Ok(step) => step,
        Err(AuthError::InvalidCode) => return again(StatusCode::UNAUTHORIZED, CodeMessage::Wrong),
        Err(AuthError::RateLimited { retry_after }) => {
            let mut res = again(StatusCode::TOO_MANY_REQUESTS, CodeMessage::RateLimited);
            let secs = HeaderValue::from(retry_after.as_secs().max(1));
            res.headers_mut().insert(header::RETRY_AFTER, secs);
            return res;
        }
        Err(AuthError::InvalidMfaToken) => {
            let status = StatusCode::UNAUTHORIZED;
            let again = LoginMessage::SignInAgain;
            return super::login_form(&state, status, &again, "", rd.as_deref());
        }
        Err(e) => return error_page(e.into()),
    };
    match issue_session(&state, &client, &headers, &step.principal, step.remember).await {
        Ok((cookie, _)) => {
            let mut res = super::see_other_rd(rd.as_deref(), "/account");
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        Err(e) => error_page(e),
    }
}

/// The code step as a page: with `passkey_step` (the pending login
/// accepts the user's passkey), it runs the passkey script, which finishes
/// the sign-in through `POST /v1/mfa/webauthn/options` and
/// `POST /v1/mfa/verify`.
pub(crate) fn code_step_page(
    state: &AppState,
    status: StatusCode,
    (mfa_token, message, passkey_step): (&str, &CodeMessage, bool),
    rd: Option<&str>,
) -> Response {
    let passkeys = state.auth.webauthn.is_some();
    let offers = mfa_pages::CodeStepOffers {
        passkey_sign_in: passkeys,
        passkey_step: passkeys && passkey_step,
    };
    let step = mfa_pages::code_step(mfa_token, message, offers, rd);
    let res = super::passkeys::allow_script(offers.passkey_step, page(status, step));
    super::allow_form_target(res, rd)
}

/// Start setting up an authenticator app: the QR code and a code field.
#[utoipa::path(post, path = "/account/mfa/totp", tag = "ui", operation_id = "ui_totp_begin",
    request_body(content = CsrfOnly, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, content_type = "text/html", body = String, description = "The set-up page"),
              (status = 303, description = "Already on: to /account; /login when not signed in"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page")))]
pub async fn totp_begin(State(state): State<AppState>, ui: UiForm<CsrfOnly>) -> Response {
    let user = ui.auth.session.user_id;
    match state.auth.begin_totp(user, &issuer_label(&state)).await {
        Ok(e) => {
            let csrf = state.csrf.token(ui.auth.session.handle.as_str());
            let setup = mfa_pages::totp_setup(&csrf, &e.secret, &e.otpauth_uri, None);
            page(StatusCode::OK, setup)
        }
        Err(AuthError::FactorExists) => see_other("/account"),
        Err(e) => error_page(e.into()),
    }
}

/// Turn on the authenticator app with its first code; shows the recovery
/// codes once.
#[utoipa::path(post, path = "/account/mfa/totp/confirm", tag = "ui", operation_id = "ui_totp_confirm",
    request_body(content = TotpConfirmForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, content_type = "text/html", body = String, description = "The recovery codes, shown once"),
              (status = 303, description = "Nothing to confirm: to /account; /login when not signed in"),
              (status = 401, content_type = "text/html", body = String, description = "The set-up page again: wrong code"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page")))]
pub async fn totp_confirm(State(state): State<AppState>, ui: UiForm<TotpConfirmForm>) -> Response {
    let user = ui.auth.session.user_id;
    match state.auth.confirm_totp(user, &ui.form.code).await {
        Ok(codes) => {
            state.metrics.mfa("totp", "enrolled");
            page(StatusCode::OK, mfa_pages::recovery_codes(&codes))
        }
        Err(AuthError::InvalidCode) => {
            let pending = state.auth.pending_totp(user, &issuer_label(&state)).await;
            let Ok(Some(e)) = pending else {
                return see_other("/account");
            };
            let csrf = state.csrf.token(ui.auth.session.handle.as_str());
            let wrong = Some("That code is wrong. Check the app's clock and try the next code.");
            let setup = mfa_pages::totp_setup(&csrf, &e.secret, &e.otpauth_uri, wrong);
            page(StatusCode::UNAUTHORIZED, setup)
        }
        Err(AuthError::NoFactor) => see_other("/account"),
        Err(e) => error_page(e.into()),
    }
}

fn reauthentication(
    ui: &UiForm<CurrentPasswordForm>,
    client: &Caller,
    password: String,
) -> Reauthentication {
    Reauthentication {
        user: ui.auth.session.user_id,
        address: client.ip,
        password: Some(password),
        auth_time: None,
    }
}

/// Turn two-step sign-in off (current password).
#[utoipa::path(post, path = "/account/mfa/totp/remove", tag = "ui", operation_id = "ui_totp_remove",
    request_body(content = CurrentPasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Off: to /account; /login when not signed in"),
              (status = 401, content_type = "text/html", body = String, description = "Wrong current password"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page"),
              (status = 429, content_type = "text/html", body = String, description = "Too many attempts")))]
pub async fn totp_remove(
    State(state): State<AppState>,
    client: Caller,
    ui: UiForm<CurrentPasswordForm>,
) -> Response {
    let who = reauthentication(&ui, &client, ui.form.password.clone());
    match state.auth.remove_totp(who).await {
        Ok(()) | Err(AuthError::NoFactor) => {
            state.metrics.mfa("totp", "removed");
            see_other("/account?notice=mfa-off")
        }
        Err(e) => password_refused(&state, &ui, e).await,
    }
}

/// Make a new set of recovery codes (current password); shows them once.
#[utoipa::path(post, path = "/account/mfa/recovery-codes", tag = "ui", operation_id = "ui_recovery_codes",
    request_body(content = CurrentPasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, content_type = "text/html", body = String, description = "The new codes, shown once"),
              (status = 303, description = "Not signed in: to /login"),
              (status = 401, content_type = "text/html", body = String, description = "Wrong current password"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page"),
              (status = 409, content_type = "text/html", body = String, description = "Two-step sign-in is off"),
              (status = 429, content_type = "text/html", body = String, description = "Too many attempts")))]
pub async fn recovery_regenerate(
    State(state): State<AppState>,
    client: Caller,
    ui: UiForm<CurrentPasswordForm>,
) -> Response {
    let who = reauthentication(&ui, &client, ui.form.password.clone());
    match state.auth.regenerate_recovery_codes(who).await {
        Ok(codes) => page(StatusCode::OK, mfa_pages::recovery_codes(&codes)),
        Err(e) => password_refused(&state, &ui, e).await,
    }
}

/// The account page with what was wrong with the password, or an error page.
async fn password_refused(
    state: &AppState,
    ui: &UiForm<CurrentPasswordForm>,
    e: AuthError,
) -> Response {
    let (error, status) = match e {
        AuthError::InvalidCredentials => {
            ("The current password is wrong.", StatusCode::UNAUTHORIZED)
        }
        AuthError::RateLimited { .. } => (
            "Too many attempts. Try again later.",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        e => return error_page(e.into()),
    };
    super::render_account(state, &ui.auth, None, Some(error), status).await
}
