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
pub fn identities_card(identities: &[LinkedIdentity], providers: &Providers) -> Markup {
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
) -> Result<Markup, crate::error::ApiError> {
    if state.oidc.all().is_empty() {
        return Ok(html! {});
    }
    let identities = state.auth.identities(user).await?;
    Ok(identities_card(&identities, &state.oidc))
}
