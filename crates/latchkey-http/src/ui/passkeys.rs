//! The passkey parts of the pages: the script (the only one latchkey
//! serves), the account page's passkeys card and its delete button.
//!
//! **Invariant:** only the pages that use passkeys (`/login`, `/account`
//! and the code step of a login that accepts a passkey, while passkeys are
//! configured) allow a script, and only this file from
//! latchkey's own origin (`script-src 'self'`, with `connect-src 'self'`
//! for its requests): no inline script, no `eval`. Every other page keeps
//! the script-free policy.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_store::PasskeyRecord;
use maud::{Markup, html};

use super::{CsrfOnly, UiForm, error_page, see_other};
use crate::error::ApiError;
use crate::state::AppState;

/// The pages' policy (see `CSP` in the module above), plus this script.
pub(super) const CSP_WITH_SCRIPT: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; script-src 'self'; \
     connect-src 'self'";

/// Where the script is served.
pub const SCRIPT_PATH: &str = "/assets/passkeys.js";

/// `res` (a page), allowed to run the passkey script when `on`.
pub(super) fn allow_script(on: bool, mut res: Response) -> Response {
    if !on {
        return res;
    }
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP_WITH_SCRIPT),
    );
    res
}

/// The user's passkeys, or `None` when passkeys are not configured.
pub(super) async fn of(
    state: &AppState,
    user: latchkey_core::UserId,
) -> Result<Option<Vec<PasskeyRecord>>, ApiError> {
    if state.auth.webauthn.is_none() {
        return Ok(None);
    }
    Ok(Some(state.auth.passkeys(user).await?))
}

/// The script tag (deferred; the file is on our origin).
pub fn script_tag() -> Markup {
    html! { script src=(SCRIPT_PATH) defer {} }
}

/// The passkey script (compiled in).
#[utoipa::path(get, path = "/assets/passkeys.js", tag = "ui",
    responses((status = 200, content_type = "text/javascript", body = String)))]
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("passkeys.js"),
    )
        .into_response()
}

/// The account page's passkeys: each with a delete button (a plain form),
/// and the form that adds one (the script drives the browser's dialog).
pub fn card(passkeys: &[PasskeyRecord], csrf: &str) -> Markup {
    html! {
    div.card #passkeys {
        h2 { "Passkeys" }
        p.muted { "Sign in with your device's screen lock or a security key instead of a password." }
        @if !passkeys.is_empty() {
            table {
                thead { tr { th { "Name" } th { "Kind" } th { "Added" } th { "Last used" } th {} } }
                tbody {
                    @for p in passkeys {
                        tr {
                            td.passkey-name { (p.name) }
                            td { @if p.backup_eligible { "synced" } @else { "this device only" } }
                            td { (p.created_at.to_rfc3339().get(..10).unwrap_or_default()) }
                            td { (p.last_used_at.map_or("never".to_owned(), |t| t.to_rfc3339().get(..10).unwrap_or_default().to_owned())) }
                            td.actions {
                                form.inline method="post" action={ "/account/passkeys/" (p.id) "/delete" } {
                                    input type="hidden" name="csrf_token" value=(csrf);
                                    button.quiet type="submit" { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
        form #passkey-register {
            input type="hidden" name="csrf_token" value=(csrf);
            label for="passkey_name" { "Name" }
            input #passkey_name type="text" name="name" maxlength="64" placeholder="e.g. work laptop";
            button type="submit" { "Add a passkey" }
        }
    }
    }
}

/// Delete one of your passkeys.
#[utoipa::path(post, path = "/account/passkeys/{id}/delete", tag = "ui",
    operation_id = "ui_delete_passkey",
    params(("id" = String, Path, description = "Passkey id")),
    request_body(content = CsrfOnly, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To /account; /login when not signed in"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page: cross-site or wrong CSRF token"),
              (status = 404, content_type = "text/html", body = String, description = "No such passkey of yours")))]
pub async fn delete(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    ui: UiForm<CsrfOnly>,
) -> Response {
    let Ok(Path(id)) = id else {
        return error_page(ApiError::NotFound);
    };
    match state
        .auth
        .delete_passkey(ui.auth.session.user_id, &id)
        .await
    {
        Ok(true) => see_other("/account?notice=passkey-deleted"),
        Ok(false) => error_page(ApiError::NotFound),
        Err(e) => error_page(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_script_runs_nothing_it_was_not_written_with() {
        let js = include_str!("passkeys.js");
        for banned in ["eval(", "new Function", "innerHTML", "document.write"] {
            assert!(!js.contains(banned), "{banned}");
        }
    }
}
