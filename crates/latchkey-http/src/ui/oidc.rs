//! Provider sign-in on the pages: the buttons of the login page, the
//! linked identities of the account page, and the page a callback answers
//! with. The callback is a navigation another site started, so a
//! `SameSite=Strict` cookie set in its answer is not sent on a redirect
//! that follows; this page continues with a same-origin navigation
//! (a meta refresh, and a link), which carries it. No script.

use latchkey_store::LinkedIdentity;
use maud::{DOCTYPE, Markup, html};

use crate::oidc::Providers;

/// The callback's answer: signed in, on to `to` (a same-origin path).
pub fn continue_page(to: &str) -> Markup {
    let refresh = format!("0;url={to}");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content=(refresh);
                meta name="referrer" content="no-referrer";
                title { "Signed in · latchkey" }
                link rel="stylesheet" href="/static/latchkey.css";
            }
            body {
                main.narrow {
                    div.card {
                        h1 { "Signed in" }
                        p.lead { a href=(to) { "Continue" } }
                    }
                }
            }
        }
    }
}

/// One button per provider on the login page; a provider whose discovery
/// has not succeeded is shown, disabled, as unavailable.
pub fn provider_buttons(providers: &Providers) -> Markup {
    html! {
        @if !providers.all().is_empty() {
            div.providers {
                @for p in providers.all() {
                    @let name = &p.config.display_name;
                    @if p.is_available() {
                        a.button.provider href=(format!("/v1/oidc/{}/start", p.config.name)) {
                            "Sign in with " (name)
                        }
                    } @else {
                        span.button.provider.unavailable aria-disabled="true" {
                            "Sign in with " (name) " (unavailable)"
                        }
                    }
                }
            }
        }
    }
}

/// The account page's card: linked identities, and links to link more.
pub fn identities_card(identities: &[LinkedIdentity], providers: &Providers, csrf: &str) -> Markup {
    html! {
        div.card {
            h2 { "Linked sign-ins" }
            @if identities.is_empty() {
                p { "No provider is linked to this account." }
            } @else {
                ul.identities {
                    @for i in identities {
                        li {
                            (i.provider)
                            @if let Some(email) = &i.email { " · " (email) }
                            form.inline method="post" action={ "/account/identities/" (i.id) "/unlink" } {
                                input type="hidden" name="csrf_token" value=(csrf);
                                button.quiet type="submit" { "Unlink" }
                            }
                        }
                    }
                }
            }
            @for p in providers.all() {
                @if p.is_available() {
                    a.button href=(format!("/v1/oidc/{}/start?return_to=/account", p.config.name)) {
                        "Link " (p.config.display_name)
                    }
                }
            }
        }
    }
}

/// The account page's identities card, or nothing when no provider is
/// configured.
pub(super) async fn identities_markup(
    state: &crate::state::AppState,
    user: latchkey_core::UserId,
    csrf: &str,
) -> Result<Markup, crate::error::ApiError> {
    if state.oidc.all().is_empty() {
        return Ok(html! {});
    }
    let identities = state.auth.identities(user).await?;
    Ok(identities_card(&identities, &state.oidc, csrf))
}

/// Unlink one of your provider identities (refused while it is the
/// account's last way in: the page says so at the top).
#[utoipa::path(post, path = "/account/identities/{id}/unlink", tag = "ui",
    operation_id = "ui_unlink_identity",
    params(("id" = String, Path, description = "Identity id")),
    request_body(content = super::CsrfOnly, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To /account; /login when not signed in"),
              (status = 403, content_type = "text/html", body = String, description = "The refusal page: cross-site or wrong CSRF token"),
              (status = 404, content_type = "text/html", body = String, description = "No such identity of yours"),
              (status = 409, content_type = "text/html", body = String, description = "The account page: it is the last way in")))]
pub async fn unlink(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    id: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    ui: super::UiForm<super::CsrfOnly>,
) -> axum::response::Response {
    use crate::error::ApiError;
    let Ok(axum::extract::Path(id)) = id else {
        return super::error_page(ApiError::NotFound);
    };
    match state
        .auth
        .unlink_identity(ui.auth.session.user_id, &id)
        .await
    {
        Ok(true) => super::see_other("/account?notice=unlinked"),
        Ok(false) => super::error_page(ApiError::NotFound),
        Err(latchkey_auth::AuthError::Conflict { detail, .. }) => {
            let status = axum::http::StatusCode::CONFLICT;
            super::render_account(&state, &ui.auth, None, Some(&detail), status).await
        }
        Err(e) => super::error_page(e.into()),
    }
}
