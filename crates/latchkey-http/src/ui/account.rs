//! The account page's actions: end one session, sign out here or
//! everywhere, change the password. Each comes through `UiForm` (session, CSRF field
//! and origin checked before the handler runs) and answers with a redirect
//! or the account page with its error.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_auth::{AuthError, EndSessions, PasswordChange};
use latchkey_store::Keep;

use super::{
    CsrfOnly, LogoutForm, PasswordForm, UiForm, error_page, render_account, see_other,
    see_other_cleared,
};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::login::{apply_password_change, end_sessions};
use crate::state::AppState;

/// Why "sign out everywhere" was refused.
const SIGN_IN_AGAIN: &str = "Signing out everywhere needs a sign-in from the last 5 minutes: sign out, sign in \
     again, then sign out everywhere.";

/// End one of your sessions.
#[utoipa::path(post, path = "/account/sessions/{id}/end", tag = "ui",
    params(("id" = String, Path, description = "A session's or a bearer or hybrid login's id")),
    request_body(content = CsrfOnly, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To /account, or /login if it was this one; /login when not signed in"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page: cross-site or wrong CSRF token"),
              (status = 404, content_type = "text/html", body = String, description = "No such session of yours")))]
pub async fn end_session(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    ui: UiForm<CsrfOnly>,
) -> Response {
    let Ok(Path(id)) = id else {
        return error_page(ApiError::NotFound);
    };
    let owner = Some(ui.auth.session.user_id);
    match state.auth.end_login(owner, &id).await {
        Ok(ended) if ended.is_empty() => error_page(ApiError::NotFound),
        Ok(ended) => {
            state.ended(&ended);
            if ended.sessions.contains(&ui.auth.session.handle) {
                see_other_cleared(&state, "/login?out=1")
            } else {
                see_other("/account?notice=ended")
            }
        }
        Err(e) => error_page(e.into()),
    }
}

/// Sign out everywhere (this device included).
#[utoipa::path(post, path = "/account/logout-everywhere", tag = "ui",
    request_body(content = CsrfOnly, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To /login, cookie cleared"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page: cross-site or wrong CSRF token; or the account page: the sign-in is not recent")))]
pub async fn logout_everywhere(State(state): State<AppState>, ui: UiForm<CsrfOnly>) -> Response {
    // A sensitive operation: it needs a sign-in under `recent_auth` old,
    // so a session stolen earlier cannot lock its owner out everywhere.
    if !state
        .auth
        .recently_authenticated(&ui.auth.session.assurance)
    {
        let status = StatusCode::FORBIDDEN;
        return render_account(&state, &ui.auth, None, Some(SIGN_IN_AGAIN), status).await;
    }
    let user = ui.auth.session.user_id;
    match end_sessions(&state, EndSessions::Everywhere(user)).await {
        Ok(_) => see_other_cleared(&state, "/login?out=1"),
        Err(e) => error_page(e),
    }
}

/// Sign out here.
#[utoipa::path(post, path = "/logout", tag = "ui", operation_id = "ui_logout",
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To /login, or to `rd` when its host is allowed; cookie cleared"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page: cross-site or wrong CSRF token")))]
pub async fn logout(State(state): State<AppState>, ui: UiForm<LogoutForm>) -> Response {
    match end_sessions(&state, EndSessions::Presented(&ui.auth.secret_hash)).await {
        Ok(_) => match super::return_to(&state, ui.form.rd.as_deref()) {
            Some(rd) => super::see_other_rd_cleared(&state, &rd),
            None => see_other_cleared(&state, "/login?out=1"),
        },
        Err(e) => error_page(e),
    }
}

/// Change your password; every other session ends.
#[utoipa::path(post, path = "/account/password", tag = "ui", operation_id = "ui_change_password",
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Changed: to /account?notice=password. Refused (wrong current password, the new ones differ, unchanged, or against the policy): to /account?password_error=…#change-password, which shows why at the form; /login when not signed in"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page: cross-site or wrong CSRF token"),
              (status = 422, content_type = "text/html", body = String, description = "The form is incomplete"),
              (status = 429, content_type = "text/html", body = String, description = "Too many attempts")))]
pub async fn change_password(
    State(state): State<AppState>,
    client: Caller,
    ui: UiForm<PasswordForm>,
) -> Response {
    let auth = &ui.auth;
    let form = ui.form;
    if form
        .confirm_password
        .as_ref()
        .is_some_and(|c| *c != form.new_password)
    {
        return see_other("/account?password_error=mismatch#change-password");
    }
    let change = PasswordChange {
        user: auth.session.user_id,
        address: client.ip,
        current: form.current_password,
        new: form.new_password,
        keep: Keep {
            session: Some(&auth.session.handle),
            family: None,
        },
    };
    // A refusal is answered post/redirect/get: the error stands at the
    // form, and reloading the page does not send the passwords again.
    let back = match apply_password_change(&state, change).await {
        Ok(()) => return see_other("/account?notice=password"),
        Err(AuthError::InvalidCredentials) => "/account?password_error=wrong#change-password",
        Err(AuthError::Invalid {
            code: "password_unchanged",
            ..
        }) => "/account?password_error=unchanged#change-password",
        Err(AuthError::Invalid { .. }) => "/account?password_error=policy#change-password",
        Err(AuthError::RateLimited { .. }) => {
            let error = "Too many attempts. Try again later.";
            let status = StatusCode::TOO_MANY_REQUESTS;
            return render_account(&state, auth, None, Some(error), status).await;
        }
        Err(e) => return error_page(e.into()),
    };
    see_other(back)
}
