//! The pages of second factors: the sign-in's code step, TOTP set-up with
//! a QR code drawn on the server (inline SVG: no script, no image request),
//! recovery codes shown once, and the account page's card.

use latchkey_auth::MfaState;
use latchkey_core::Timestamp;
use maud::{Markup, PreEscaped, html};

use super::pages::layout;

/// What the code step shows besides its form.
pub enum CodeMessage {
    None,
    Wrong,
    RateLimited,
}

/// What the code step offers besides a code.
#[derive(Clone, Copy)]
pub struct CodeStepOffers {
    /// Passkeys are configured: point to the passkey sign-in, which needs
    /// no password and no second step (a user-verified passkey is
    /// multi-factor).
    pub passkey_sign_in: bool,
    /// The pending login accepts a passkey (the user has one): "Use a
    /// passkey" finishes this very sign-in with it (the page's script).
    pub passkey_step: bool,
}

/// The sign-in's second step for the pending login `mfa_token`: a code,
/// or the user's passkey, so an account whose only factor is a passkey is
/// never stuck at a code it does not have. `rd` (already vouched for) is
/// where the sign-in returns.
pub fn code_step(
    mfa_token: &str,
    message: &CodeMessage,
    offers: CodeStepOffers,
    rd: Option<&str>,
) -> Markup {
    let body = html! {
        div.card {
            h1 { "Two-step sign-in" }
            @if offers.passkey_step {
                p.lead { "Use your passkey, or enter the 6-digit code from your authenticator app or one of your recovery codes." }
            } @else {
                p.lead { "Enter the 6-digit code from your authenticator app, or one of your recovery codes." }
            }
            @match message {
                CodeMessage::Wrong => div.error role="alert" { "That code is wrong or was already used." },
                CodeMessage::RateLimited => div.error role="alert" { "Too many attempts. Try again later." },
                CodeMessage::None => {},
            }
            @if offers.passkey_step {
                button.wide #passkey-second type="button" data-rd=[rd] { "Use a passkey" }
            }
            form #code-step method="post" action="/login/code" {
                input type="hidden" name="mfa_token" value=(mfa_token);
                @if offers.passkey_step { input type="hidden" name="passkey" value="1"; }
                @if let Some(rd) = rd { input type="hidden" name="rd" value=(rd); }
                label for="code" { "Code" }
                input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
                    autocapitalize="none" spellcheck="false" required autofocus[!offers.passkey_step];
                button.wide.quiet[offers.passkey_step] type="submit" { "Verify" }
            }
            @if offers.passkey_step {
                (super::passkeys::script_tag())
            } @else if offers.passkey_sign_in {
                p #passkey-instead { "Have a passkey? " a href="/login" { "Sign in with your passkey instead" } "." }
            }
            a href="/login" { "Start again" }
        }
    };
    layout("Two-step sign-in", true, html! {}, body)
}

/// `uri` as an SVG QR code (the `<?xml?>` prologue dropped: it is inline).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .build();
    svg.find("<svg").map(|at| svg[at..].to_owned())
}

/// TOTP set-up: scan or type the secret, then confirm with a code.
pub fn totp_setup(csrf: &str, secret: &str, uri: &str, error: Option<&str>) -> Markup {
    let body = html! {
        div.card {
            h1 { "Set up an authenticator app" }
            p.lead { "Scan the code with your authenticator app, or type the key into it." }
            @if let Some(e) = error { div.error role="alert" { (e) } }
            @if let Some(svg) = qr_svg(uri) {
                div.qr role="img" aria-label="QR code of the key" { (PreEscaped(svg)) }
            }
            p { "Key: " code #totp-secret { (secret) } }
            form method="post" action="/account/mfa/totp/confirm" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="code" { "Code from the app" }
                input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus;
                button type="submit" { "Turn on" }
            }
            a href="/account" { "Cancel" }
        }
    };
    layout("Two-step sign-in", true, html! {}, body)
}

/// Recovery codes, shown this once.
pub fn recovery_codes(codes: &[String]) -> Markup {
    let body = html! {
        div.card {
            h1 { "Your recovery codes" }
            p.lead { "Each code signs you in once if you lose your authenticator. Keep them somewhere safe: they are not shown again." }
            ul #recovery-codes { @for c in codes { li { code { (c) } } } }
            a href="/account" { "Done" }
        }
    };
    layout("Recovery codes", true, html! {}, body)
}

/// The account page's card: turn TOTP on, or see the recovery codes' state,
/// make new ones, or turn it off.
pub fn mfa_card(csrf: &str, mfa: &MfaState, now: Timestamp) -> Markup {
    html! {
    div.card #two-step {
        h2 { "Two-step sign-in" }
        @if mfa.totp {
            p { span.tag { "On" } " Authenticator app" }
            p.muted #recovery-state {
                (mfa.recovery.remaining) " recovery code" @if mfa.recovery.remaining != 1 { "s" } " left"
                @if let Some(t) = mfa.recovery.last_used_at {
                    "; one was last used " span title=(t.to_rfc3339()) { (super::pages::ago(now, t)) } "."
                } @else { "; none used yet." }
            }
            form method="post" action="/account/mfa/recovery-codes" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="rc_password" { "Current password" }
                input #rc_password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Make new recovery codes" }
            }
            form method="post" action="/account/mfa/totp/remove" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="off_password" { "Current password" }
                input #off_password type="password" name="password" autocomplete="current-password" required;
                button.danger type="submit" { "Turn off two-step sign-in" }
            }
        } @else {
            p.muted { "Ask for a code from an authenticator app after your password." }
            form method="post" action="/account/mfa/totp" {
                input type="hidden" name="csrf_token" value=(csrf);
                button type="submit" { "Set up an authenticator app" }
            }
        }
    }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_inline_svg_without_script_or_style() {
        let svg = qr_svg("otpauth://totp/latchkey:alice?secret=GEZDGNBVGY3TQOJQ&issuer=latchkey")
            .unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(!svg.contains("<script") && !svg.contains("style="));
    }
}
