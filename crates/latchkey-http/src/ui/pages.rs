//! The pages, as maud templates compiled into the binary. No inline
//! script or style: everything is allowed by the strict CSP. The one
//! script, for passkeys, is a file of ours (see `passkeys.rs`).

use latchkey_core::{Timestamp, Username};
use maud::{DOCTYPE, Markup, html};

/// What the login page shows besides the form.
pub enum LoginMessage {
    None,
    /// One generic message, whatever was wrong (no user enumeration).
    Failed,
    RateLimited {
        minutes: u64,
    },
    Busy,
    LoggedOut,
    /// A two-step sign-in that expired or failed too often.
    SignInAgain,
    /// After a password reset.
    PasswordReset,
}

pub(super) fn layout(title: &str, narrow: bool, header: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · latchkey" }
                link rel="stylesheet" href="/static/latchkey.css";
            }
            body {
                header.bar {
                    div.brand { "latch" span { "key" } }
                    (header)
                }
                main.narrow[narrow] { (body) }
                footer { "Protected by latchkey" }
            }
        }
    }
}

/// The sign-in page; with `passkeys`, also "Sign in with a passkey" and
/// passkey autofill on the username field (the page's only script).
/// With `forgot` (e-mail configured), a "Forgot password?" link.
pub fn login(
    message: &LoginMessage,
    username: &str,
    passkeys: bool,
    rd: Option<&str>,
    providers: Markup,
    forgot: bool,
) -> Markup {
    let autocomplete = if passkeys {
        "username webauthn"
    } else {
        "username"
    };
    let body = html! {
        div.card {
            h1 { "Sign in" }
            p.lead { "Use your account to continue." }
            @match message {
                LoginMessage::Failed => div.error role="alert" { "Wrong username or password." },
                LoginMessage::RateLimited { minutes } => div.error role="alert" {
                    "Too many attempts. Try again in " (minutes) " minute" @if *minutes != 1 { "s" } "."
                },
                LoginMessage::Busy => div.error role="alert" { "The server is busy. Try again in a moment." },
                LoginMessage::LoggedOut => div.notice role="status" { "You are signed out." },
                LoginMessage::SignInAgain => div.error role="alert" { "That sign-in expired. Sign in again." },
                LoginMessage::PasswordReset => div.notice role="status" { "Your password was changed. Sign in with the new one." },
                LoginMessage::None => {},
            }
            form method="post" action="/login" {
                @if let Some(rd) = rd { input type="hidden" name="rd" value=(rd); }
                label for="username" { "Username" }
                input #username type="text" name="username" value=(username)
                    autocomplete=(autocomplete) autocapitalize="none" spellcheck="false" required autofocus[username.is_empty()];
                label for="password" { "Password" }
                // After a failed sign-in the name is kept: the password is next.
                input #password type="password" name="password" autocomplete="current-password" required autofocus[!username.is_empty()];
                label.check { input type="checkbox" name="remember" value="on"; "Keep me signed in on this device" }
                button.wide type="submit" { "Sign in" }
            }
            @if forgot { p { a #forgot href="/forgot" { "Forgot password?" } } }
            @if passkeys {
                button.wide.quiet #passkey-signin type="button" data-rd=[rd] { "Sign in with a passkey" }
                (super::passkeys::script_tag())
            }
            (providers)
        }
    };
    layout("Sign in", true, html! {}, body)
}

/// One row of the sessions table.
pub struct SessionRow<'a> {
    /// A cookie session, or a bearer or hybrid login.
    pub login: &'a latchkey_auth::LiveLogin,
    pub current: bool,
}

pub struct Account<'a> {
    /// The user's address; `None` when e-mail is not configured.
    pub address: Option<Option<&'a latchkey_store::Address>>,
    pub username: &'a Username,
    /// How this session signed in (RFC 8176 `amr` values).
    pub amr: &'a [String],
    /// The user's passkeys; `None` when passkeys are not configured.
    pub passkeys: Option<&'a [latchkey_store::PasskeyRecord]>,
    pub csrf: &'a str,
    pub sessions: Vec<SessionRow<'a>>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Why the password form was refused, shown at the form.
    pub password_error: Option<&'a str>,
    pub now: Timestamp,
    /// Second factors: TOTP and the recovery codes' state.
    pub mfa: latchkey_auth::MfaState,
    /// The user's latest security events, newest first.
    pub activity: &'a [latchkey_store::AuditEvent],
    /// Linked provider identities (empty when no provider is configured).
    pub identities: Markup,
}

pub fn account(a: &Account<'_>) -> Markup {
    let initial = a
        .username
        .as_str()
        .chars()
        .next()
        .unwrap_or('?')
        .to_ascii_uppercase();
    let header = html! {
        form.inline method="post" action="/logout" {
            input type="hidden" name="csrf_token" value=(a.csrf);
            button.quiet type="submit" { "Sign out" }
        }
    };
    let body = html! {
        @if let Some(n) = a.notice { div.notice role="status" { (n) } }
        @if let Some(e) = a.error { div.error role="alert" { (e) } }
        div.card {
            div.who {
                div.avatar { (initial) }
                div {
                    h1 { (a.username) }
                    div.muted #assurance title=(a.amr.join(" ")) { "Signed in with " (assurance(a.amr)) }
                }
            }
        }
        (sessions_card(a))
        (super::mfa_pages::mfa_card(a.csrf, &a.mfa, a.now))
        (a.identities)
        @if let Some(passkeys) = a.passkeys {
            (super::passkeys::card(passkeys, a.csrf))
            (super::passkeys::script_tag())
        }
        @if let Some(address) = a.address {
            (super::email_pages::address_card(address, a.csrf))
        }
        (password_card(a))
        (super::activity::card(a.activity, a.now))
    };
    layout("Your account", false, header, body)
}

/// The account page's list of sessions, each with a button to end it.
fn sessions_card(a: &Account<'_>) -> Markup {
    html! {
    div.card #sessions {
        div.row {
            h2 { "Your sessions" }
            form.inline method="post" action="/account/logout-everywhere" {
                input type="hidden" name="csrf_token" value=(a.csrf);
                button.danger type="submit" { "Sign out everywhere" }
            }
        }
        table {
            thead { tr { th { "Device" } th { "Kind" } th { "Address" } th { "Last seen" } th {} } }
            tbody {
                @for row in &a.sessions {
                    tr {
                        td {
                            (device(row.login.user_agent.as_deref()))
                            @if row.current { span.tag { "this device" } }
                        }
                        td { (kind_of(&row.login.kind)) }
                        td { (row.login.ip.as_deref().unwrap_or("unknown")) }
                        td title=(row.login.last_used_at.to_rfc3339()) { (ago(a.now, row.login.last_used_at)) }
                        td.actions {
                            form.inline method="post" action={ "/account/sessions/" (row.login.id) "/end" } {
                                input type="hidden" name="csrf_token" value=(a.csrf);
                                button.quiet type="submit" { @if row.current { "Sign out" } @else { "End" } }
                            }
                        }
                    }
                }
            }
        }
    }
    }
}

/// A login's kind as people read it.
fn kind_of(kind: &str) -> &'static str {
    match kind {
        "tokens" => "App (bearer tokens)",
        "cookie_jwt" => "App (token cookies)",
        _ => "Browser session",
    }
}

/// The account page's password form.
fn password_card(a: &Account<'_>) -> Markup {
    html! {
    div.card #change-password {
        h2 { "Change password" }
        p.muted { "Every other session will be signed out." }
        @if let Some(e) = a.password_error { div.error role="alert" { (e) } }
        form method="post" action="/account/password" {
            input type="hidden" name="csrf_token" value=(a.csrf);
            input type="text" name="username" value=(a.username) autocomplete="username" hidden;
            label for="current_password" { "Current password" }
            input #current_password type="password" name="current_password" autocomplete="current-password" required autofocus[a.password_error.is_some()];
            label for="new_password" { "New password" }
            input #new_password type="password" name="new_password" autocomplete="new-password" minlength="8" maxlength="256" required;
            label for="confirm_password" { "New password again" }
            input #confirm_password type="password" name="confirm_password" autocomplete="new-password" minlength="8" maxlength="256" required;
            button type="submit" { "Change password" }
        }
    }
    }
}

/// `amr` values in words: "a password", "a synced passkey (multi-factor)".
pub fn assurance(amr: &[String]) -> String {
    let words: Vec<&str> = amr
        .iter()
        .filter_map(|v| match v.as_str() {
            "pwd" => Some("a password"),
            "otp" => Some("a one-time code"),
            "hwk" => Some("a passkey on this device"),
            "swk" => Some("a synced passkey"),
            "fed" => Some("another provider"),
            "email" => Some("an e-mailed code"),
            _ => None,
        })
        .collect();
    let mut text = if words.is_empty() {
        "an unrecorded method".to_owned()
    } else {
        words.join(" and ")
    };
    if amr.iter().any(|v| v == "mfa") {
        text.push_str(" (multi-factor)");
    }
    text
}

pub fn forbidden() -> Markup {
    layout(
        "Refused",
        true,
        html! {},
        html! {
            div.card {
                h1 { "Request refused" }
                p.lead { "This form came from another site or has expired. Go back, reload the page and try again." }
                a href="/account" { "Back to your account" }
            }
        },
    )
}

/// An error page: what went wrong, and the way back.
pub fn error(title: &str, detail: &str) -> Markup {
    layout(
        title,
        true,
        html! {},
        html! {
            div.card {
                h1 { (title) }
                p.lead { (detail) }
                a href="/account" { "Back" }
            }
        },
    )
}

/// A readable name for a user agent: browser and system, or the raw
/// product token for non-browsers.
pub fn device(ua: Option<&str>) -> String {
    let Some(ua) = ua else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => s.to_owned(),
        (None, None) => ua
            .split_whitespace()
            .next()
            .unwrap_or("Unknown device")
            .to_owned(),
    }
}

pub(super) fn ago(now: Timestamp, then: Timestamp) -> String {
    let secs = then.until(now).as_secs();
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_for_people() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(device(Some(chrome)), "Chrome on Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device(Some(iphone)), "Safari on iOS");
        assert_eq!(device(Some("curl/7.88.1")), "curl");
        assert_eq!(device(Some("reqwest")), "reqwest");
        assert_eq!(device(None), "Unknown device");
    }

    #[test]
    fn user_supplied_text_is_escaped() {
        let rd = Some("https://app.example.com/\"><script>x</script>");
        let page = login(
            &LoginMessage::None,
            "<script>alert(1)</script>",
            true,
            rd,
            html! {},
            true,
        )
        .into_string();
        let page = page.replace(r#"<script src="/assets/passkeys.js" defer></script>"#, "");
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
