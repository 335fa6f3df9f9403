//! The account page: who you are, your sessions and logins, second
//! factors, passkeys, linked sign-ins, your address and recent security
//! activity, each card with its forms.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::forms::AccountQuery;
use super::pages::{self, Account, SessionRow};
use super::{activity, error_page, oidc, page, passkeys, ui_rejection};
use crate::auth::{SessionAuth, load_session};
use crate::error::ApiError;
use crate::state::AppState;

/// Who you are, your sessions, and the buttons to end them.
#[utoipa::path(get, path = "/account", tag = "ui",
    responses((status = 200, content_type = "text/html", body = String),
              (status = 303, description = "Not signed in: to /login")))]
pub async fn account_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let auth = match load_session(&headers, &state).await {
        Ok(loaded) => match loaded.touch(&state).await {
            Ok(auth) => auth,
            Err(e) => return ui_rejection(&state, e),
        },
        Err(e) => return ui_rejection(&state, e),
    };
    let notice = match q.notice.as_deref() {
        Some("password") => Some("Password changed. Your other sessions were signed out."),
        Some("ended") => Some("Session ended."),
        Some("mfa-off") => Some("Two-step sign-in is off."),
        Some("passkey") => Some("Passkey added."),
        Some("passkey-deleted") => Some("Passkey deleted."),
        Some("email") => Some("A verification link is on its way to the new address."),
        Some("unlinked") => Some("Sign-in unlinked."),
        _ => None,
    };
    let password_error = match q.password_error.as_deref() {
        Some("wrong") => Some("The current password is wrong."),
        Some("mismatch") => Some("The two new passwords differ."),
        Some("unchanged") => Some("The new password is the current one; choose another."),
        Some("policy") => Some(
            "The new password must be 8 to 256 characters, without NUL, and not your username.",
        ),
        _ => None,
    };
    let messages = Messages {
        notice,
        error: None,
        password_error,
    };
    render_account_with(&state, &auth, messages, StatusCode::OK).await
}

/// What the account page says besides its cards.
#[derive(Default)]
pub(crate) struct Messages<'a> {
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    pub password_error: Option<&'a str>,
}

pub(crate) async fn render_account(
    state: &AppState,
    auth: &SessionAuth,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let messages = Messages {
        notice,
        error,
        password_error: None,
    };
    render_account_with(state, auth, messages, status).await
}

/// What the account page shows, read for `user`.
struct AccountData {
    sessions: Vec<latchkey_auth::LiveLogin>,
    passkeys: Option<Vec<latchkey_store::PasskeyRecord>>,
    mfa: latchkey_auth::MfaState,
    activity: Vec<latchkey_store::AuditEvent>,
    identities: maud::Markup,
    address: Option<Option<latchkey_store::Address>>,
}

async fn account_data(
    state: &AppState,
    user: latchkey_core::UserId,
    csrf: &str,
) -> Result<AccountData, ApiError> {
    let recent = latchkey_store::EventQuery {
        user: Some(user),
        newest_first: true,
        limit: activity::SHOWN,
        ..latchkey_store::EventQuery::default()
    };
    let address = match state.settings.email {
        Some(_) => Some(state.store.address_of(user).await?),
        None => None,
    };
    Ok(AccountData {
        sessions: state.auth.live_logins(Some(user)).await?,
        passkeys: passkeys::of(state, user).await?,
        mfa: state.auth.mfa_state(user).await?,
        activity: state.store.events(recent).await?,
        identities: oidc::identities_markup(state, user, csrf).await?,
        address,
    })
}

pub(crate) async fn render_account_with(
    state: &AppState,
    auth: &SessionAuth,
    messages: Messages<'_>,
    status: StatusCode,
) -> Response {
    let csrf = state.csrf.token(auth.session.handle.as_str());
    let mut data = match account_data(state, auth.session.user_id, &csrf).await {
        Ok(d) => d,
        Err(e) => return error_page(e),
    };
    let is_current =
        |l: &latchkey_auth::LiveLogin| l.kind == "session" && l.id == auth.session.handle.as_str();
    // This device first, then newest first (a stable sort keeps that order).
    data.sessions.sort_by_key(|s| !is_current(s));
    let account = Account {
        activity: &data.activity,
        identities: data.identities,
        address: data.address.as_ref().map(Option::as_ref),
        username: &auth.username,
        amr: &auth.session.assurance.amr,
        passkeys: data.passkeys.as_deref(),
        csrf: &csrf,
        sessions: data
            .sessions
            .iter()
            .map(|s| SessionRow {
                login: s,
                current: is_current(s),
            })
            .collect(),
        notice: messages.notice,
        error: messages.error,
        password_error: messages.password_error,
        now: state.clock.now(),
        mfa: data.mfa,
    };
    let on = data.passkeys.is_some();
    passkeys::allow_script(on, page(status, pages::account(&account)))
}
