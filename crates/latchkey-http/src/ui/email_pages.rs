//! The e-mail pages' markup (see `email.rs`), and the account page's
//! address card.

use maud::{Markup, html};

use super::pages::layout;

fn card(title: &str, body: Markup) -> Markup {
    layout(title, true, html! {}, html! { div.card { (body) } })
}

/// The form that asks for a reset link.
pub fn forgot(error: Option<&str>) -> Markup {
    card(
        "Forgot password",
        html! {
            h1 { "Forgot your password?" }
            p.lead { "Enter the verified e-mail address of your account: we will mail you a link to choose a new password." }
            @if let Some(e) = error { div.error role="alert" { (e) } }
            form method="post" action="/forgot" {
                label for="email" { "E-mail address" }
                input #email type="email" name="email" autocomplete="email" maxlength="254" required autofocus;
                button.wide type="submit" { "Send the link" }
            }
            a href="/login" { "Back to sign in" }
        },
    )
}

/// The same answer for every address.
pub fn forgot_sent() -> Markup {
    card(
        "Check your mail",
        html! {
            h1 { "Check your mail" }
            p.lead { "If that address belongs to an account and was verified, a link to choose a new password is on its way. It works once, for 30 minutes." }
            a href="/login" { "Back to sign in" }
        },
    )
}

/// The new-password form of a reset link.
pub fn reset(token: &str, error: Option<&str>) -> Markup {
    card(
        "Choose a new password",
        html! {
            h1 { "Choose a new password" }
            p.lead { "Every session of the account will be signed out." }
            @if let Some(e) = error { div.error role="alert" { (e) } }
            form method="post" action="/reset" {
                input type="hidden" name="token" value=(token);
                label for="new_password" { "New password" }
                input #new_password type="password" name="new_password" autocomplete="new-password" minlength="8" maxlength="256" required autofocus;
                button.wide type="submit" { "Set the password" }
            }
        },
    )
}

/// The button of a verification link.
pub fn verify(token: &str) -> Markup {
    card(
        "Confirm your address",
        html! {
            h1 { "Confirm your e-mail address" }
            form method="post" action="/verify" {
                input type="hidden" name="token" value=(token);
                button.wide type="submit" { "Confirm" }
            }
        },
    )
}

pub fn verified() -> Markup {
    card(
        "Address confirmed",
        html! {
            h1 { "Address confirmed" }
            p.lead { "Thank you: your e-mail address is verified." }
            a href="/account" { "Go to your account" }
        },
    )
}

/// The account page's address: shown, and a form to change it.
pub fn address_card(address: Option<&latchkey_store::Address>, csrf: &str) -> Markup {
    html! {
    div.card #email {
        h2 { "E-mail address" }
        @match address {
            Some(a) => p {
                (a.email) " "
                @if a.verified { span.tag { "verified" } } @else { span.tag { "not verified: check your mail" } }
            },
            None => p.muted { "No address yet: add one to reset a forgotten password and to sign in by code." },
        }
        form method="post" action="/account/email" {
            input type="hidden" name="csrf_token" value=(csrf);
            label for="new_email" { @if address.is_some() { "New address" } @else { "Address" } }
            input #new_email type="email" name="email" autocomplete="email" maxlength="254" required;
            button type="submit" { "Send a verification link" }
        }
    }
    }
}
