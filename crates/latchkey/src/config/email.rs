//! `[email]`: the SMTP server, the sender, retries, templates and the
//! per-recipient limit. Absent (no `email.*` key at all), e-mail is off.

use std::path::Path;

use latchkey_auth::email::Templates;
use latchkey_auth::{EmailSettings, RecipientLimit};

use super::values::Values;
use super::*;
use crate::mailer::SmtpSettings;

/// The `email.*` keys with defaults, so `[email]` needs only `smtp_url`
/// and `from`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads `[email]`: the sender's settings and what the use cases need,
/// or `None` when no `email.*` key is set.
pub(super) fn email_settings(
    v: &mut Values<'_>,
    issuer: &str,
) -> Option<(SmtpSettings, EmailSettings)> {
    let any = v.known.keys().any(|k| k.starts_with("email."));
    if !any {
        return None;
    }
    let url = v.string("email.smtp_url");
    let from = v.string("email.from");
    let password = password(v);
    let limit = RecipientLimit {
        per_recipient: v
            .count("email.per_recipient")
            .unwrap_or(RecipientLimit::default().per_recipient),
        window: v
            .duration("email.recipient_window")
            .unwrap_or(RecipientLimit::default().window),
    };
    let templates = match v.string("email.templates_dir") {
        Some(dir) => Templates::load(Path::new(&dir))
            .map_err(|e| v.errors.push(format!("`email.templates_dir`: {e}")))
            .ok()?,
        None => Templates::default(),
    };
    let smtp = SmtpSettings {
        url: String::new(),
        from: "x@invalid".parse().ok()?,
        username: v.string("email.username"),
        password,
        timeout: v.duration("email.timeout").unwrap_or(DEFAULT_TIMEOUT),
        max_attempts: v.count("email.max_attempts").unwrap_or(10),
        retry_initial: v
            .duration("email.retry_initial")
            .unwrap_or(Duration::from_secs(5)),
        retry_max: v
            .duration("email.retry_max")
            .unwrap_or(Duration::from_secs(600)),
        poll_interval: v
            .duration("email.poll_interval")
            .unwrap_or(Duration::from_secs(1)),
    };
    let smtp = required(v.errors, smtp, url, from)?;
    let email = EmailSettings::new(&origin_of(issuer), templates, limit);
    Some((smtp, email))
}

/// `email.password`, or the first line of `email.password_file`.
fn password(v: &mut Values<'_>) -> Option<String> {
    let inline = v.string("email.password");
    let file = v.string("email.password_file");
    match (inline, file) {
        (Some(_), Some(_)) => {
            v.errors
                .push("`email.password` and `email.password_file`: set one, not both".into());
            None
        }
        (Some(p), None) => Some(p),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(s) => Some(s.lines().next().unwrap_or_default().to_owned()),
            Err(e) => {
                v.errors
                    .push(format!("`email.password_file`: cannot read {path}: {e}"));
                None
            }
        },
        (None, None) => None,
    }
}

/// Fills in the required `smtp_url` and `from`, checked.
fn required(
    errors: &mut Vec<String>,
    mut smtp: SmtpSettings,
    url: Option<String>,
    from: Option<String>,
) -> Option<SmtpSettings> {
    let mut ok = true;
    match url {
        Some(url) => {
            smtp.url = url;
            if let Err(why) = crate::mailer::transport(&smtp) {
                errors.push(format!("`email.smtp_url`: {why}"));
                ok = false;
            }
        }
        None => {
            errors.push("`email.smtp_url` is required in [email]".into());
            ok = false;
        }
    }
    match from.map(|f| f.parse::<lettre::message::Mailbox>()) {
        Some(Ok(mailbox)) => smtp.from = mailbox,
        Some(Err(e)) => {
            errors.push(format!("`email.from`: expected \"Name <address>\" ({e})"));
            ok = false;
        }
        None => {
            errors.push("`email.from` is required in [email]".into());
            ok = false;
        }
    }
    if smtp.retry_initial > smtp.retry_max {
        errors.push("`email.retry_initial` must not exceed `email.retry_max`".into());
        ok = false;
    }
    ok.then_some(smtp)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::{Overrides, load};
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn without_email_keys_email_is_off() {
        let c = load(None, HashMap::new(), &Overrides::default()).unwrap();
        assert!(c.smtp.is_none() && c.http.email.is_none());
    }

    #[test]
    fn email_needs_a_url_and_a_sender_and_reads_the_rest() {
        let c = load(
            None,
            env(&[
                ("LATCHKEY_EMAIL__SMTP_URL", "smtps://mail.example.com"),
                ("LATCHKEY_EMAIL__FROM", "Example <no-reply@example.com>"),
                ("LATCHKEY_EMAIL__PASSWORD", "s3cret"),
                ("LATCHKEY_EMAIL__USERNAME", "latchkey"),
                ("LATCHKEY_EMAIL__RETRY_MAX", "1m"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        let smtp = c.smtp.unwrap();
        assert_eq!(smtp.password.as_deref(), Some("s3cret"));
        assert_eq!(smtp.retry_max, std::time::Duration::from_secs(60));
        assert!(!format!("{smtp:?}").contains("s3cret"));
        assert_eq!(c.http.email.unwrap().origin, "http://127.0.0.1:8080");

        let e = load(
            None,
            env(&[("LATCHKEY_EMAIL__FROM", "not a mailbox <")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`email.smtp_url` is required"), "{e}");
        assert!(e.contains("`email.from`"), "{e}");
        let e = load(
            None,
            env(&[
                ("LATCHKEY_EMAIL__SMTP_URL", "http://mail.example.com"),
                ("LATCHKEY_EMAIL__FROM", "a@example.com"),
            ]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("smtp:// or smtps://"), "{e}");
    }
}
