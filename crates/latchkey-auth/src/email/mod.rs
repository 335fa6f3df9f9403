//! E-mail: verified addresses, password reset and sign-in codes.
//!
//! Nothing here talks SMTP: a message is rendered from [`templates`] and
//! stored in the outbox ([`latchkey_store::Outbox`]), which the binary's
//! background sender drains (and wakes through [`EmailSettings::wake`]).
//! Requests that must not reveal whether an address is known (a reset, a
//! sign-in code) only queue a [`Job`]: one worker per node looks the
//! address up and mails it, off the request path, so the answer's timing
//! says nothing about the address.
//!
//! **Invariant:** a link's token and a sign-in code are stored only as
//! SHA-256 hashes, are single use, and never appear in a log line or an
//! error; links point at the issuer's origin.

mod addresses;
mod code;
mod reset;
pub mod templates;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::throttle::{self, Decision};
use latchkey_core::{UserId, sha256};
use latchkey_store::{EmailToken, Mail, MailState, TokenKind, address_key};
use tokio::sync::{Notify, mpsc};

pub use addresses::AddressChange;
pub use templates::{Kind, Templates};

use crate::error::AuthError;
use crate::random;
use crate::service::AuthService;

/// How long a verification link works.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a password-reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(30 * 60);
/// How long a sign-in code works.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Wrong codes that end a sign-in code.
pub const MAX_CODE_TRIES: u32 = 5;
/// Queued reset and code requests per node; beyond, `503`.
const JOB_QUEUE: usize = 1024;

/// Messages one address may be sent within `window` (verification,
/// reset, code): a bound on mail bombing through latchkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecipientLimit {
    pub per_recipient: u32,
    pub window: Duration,
}

impl Default for RecipientLimit {
    fn default() -> Self {
        Self {
            per_recipient: 5,
            window: Duration::from_secs(3600),
        }
    }
}

/// Work done off the request path.
#[derive(Clone, Debug)]
pub enum Job {
    /// Mail a reset link if the address is known and verified.
    Reset { email: String },
    /// Mail a sign-in code if the address is known and verified.
    Code { email: String },
}

/// E-mail as the use cases see it (present when `[email]` is configured).
#[derive(Clone)]
pub struct EmailSettings {
    /// The issuer's origin (`scheme://host[:port]`): links start with it.
    pub origin: String,
    pub templates: Arc<Templates>,
    pub limit: RecipientLimit,
    wake: Arc<Notify>,
    jobs: mpsc::Sender<Job>,
    jobs_rx: Arc<Mutex<Option<mpsc::Receiver<Job>>>>,
}

impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("origin", &self.origin)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl EmailSettings {
    pub fn new(origin: &str, templates: Templates, limit: RecipientLimit) -> Self {
        let (jobs, rx) = mpsc::channel(JOB_QUEUE);
        Self {
            origin: origin.trim_end_matches('/').to_owned(),
            templates: Arc::new(templates),
            limit,
            wake: Arc::new(Notify::new()),
            jobs,
            jobs_rx: Arc::new(Mutex::new(Some(rx))),
        }
    }

    /// Notified whenever a message is queued (the sender waits on it).
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// The job queue's receiving end, once (for the node's worker).
    pub fn take_jobs(&self) -> Option<mpsc::Receiver<Job>> {
        self.jobs_rx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// A well-formed address: `local@domain`, at most 254 characters (64
/// before the `@`), no spaces, controls or characters that would need
/// quoting in a header, a domain that neither starts nor ends with a dot.
/// (The OpenAPI document states the same rule as a pattern.)
pub fn parse_address(email: &str) -> Result<String, AuthError> {
    let invalid = || AuthError::Invalid {
        code: "invalid_email",
        detail: "The e-mail address is not valid.".into(),
    };
    let email = email.trim();
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    let bad = |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"@".contains(c);
    // Counted in characters, as the OpenAPI document's pattern counts.
    let ok = email.chars().count() <= 254
        && !local.is_empty()
        && local.chars().count() <= 64
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !local.chars().any(bad)
        && !domain.chars().any(bad);
    if ok {
        Ok(email.to_owned())
    } else {
        Err(invalid())
    }
}

/// A new link token (what the link carries) and its hash (what is stored).
pub(crate) fn new_token() -> Result<(String, [u8; 32]), AuthError> {
    let secret = random::<32>()?;
    Ok((URL_SAFE_NO_PAD.encode(secret), sha256(&secret)))
}

/// The stored hash of a link token as presented; `None` if malformed.
pub(crate) fn token_hash(token: &str) -> Option<[u8; 32]> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    (bytes.len() == 32).then(|| sha256(&bytes))
}

/// The stored hash of `user`'s sign-in code `code`.
pub(crate) fn code_hash(user: UserId, code: &str) -> [u8; 32] {
    sha256(format!("email-code\n{user}\n{code}").as_bytes())
}

impl AuthService {
    /// The e-mail settings, or `EmailNotConfigured`.
    pub fn email_settings(&self) -> Result<&EmailSettings, AuthError> {
        self.email.as_ref().ok_or(AuthError::EmailNotConfigured)
    }

    /// Counts a message to `email` and refuses it over the limit.
    pub(crate) async fn admit_recipient(&self, email: &str) -> Result<(), AuthError> {
        let limit = self.email_settings()?.limit;
        let now = self.clock.now();
        let key = format!("mail:{}", address_key(email));
        let window = self.store.record_failure(&key, limit.window, now).await?;
        match throttle::admit(window, limit.per_recipient, limit.window, now) {
            Decision::Allowed => Ok(()),
            Decision::Limited { retry_after } => Err(AuthError::RateLimited { retry_after }),
        }
    }

    /// Stores `token` (hashed) for `user`, lasting `ttl`.
    pub(crate) async fn put_token(
        &self,
        kind: TokenKind,
        user: UserId,
        email: &str,
        hash: &[u8; 32],
        ttl: Duration,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        let token = EmailToken {
            kind,
            user_id: user,
            email: email.to_owned(),
            attempts: 0,
            created_at: now,
            expires_at: now.saturating_add(ttl),
        };
        self.store.put_email_token(hash, &token).await?;
        Ok(())
    }

    /// Renders `kind` with `vars` (and `issuer`) and queues it for `to`.
    pub(crate) async fn queue_mail(
        &self,
        to: &str,
        kind: Kind,
        vars: &[(&str, &str)],
    ) -> Result<(), AuthError> {
        let settings = self.email_settings()?;
        let mut all = vars.to_vec();
        all.push(("issuer", settings.origin.as_str()));
        let mut m = settings.templates.render(kind, &all);
        let now = self.clock.now();
        let id = URL_SAFE_NO_PAD.encode(random::<16>()?);
        if let Some(key) = &self.sealing {
            for part in [&mut m.subject, &mut m.text, &mut m.html] {
                *part = key.seal_text(part, &id)?;
            }
        }
        let mail = Mail {
            id,
            to: to.to_owned(),
            subject: m.subject,
            text: m.text,
            html: m.html,
            sealed: self.sealing.is_some(),
            attempts: 0,
            next_attempt_at: now,
            state: MailState::Pending,
            last_error: None,
            created_at: now,
        };
        self.store.enqueue_mail(&mail).await?;
        tracing::info!(mail_id = %mail.id, kind = kind.name(), "e-mail queued");
        settings.wake.notify_one();
        Ok(())
    }

    /// Queues `job` for this node's worker; `Overloaded` when the queue
    /// is full.
    pub fn queue_job(&self, job: Job) -> Result<(), AuthError> {
        self.email_settings()?
            .jobs
            .try_send(job)
            .map_err(|_| AuthError::Overloaded)
    }

    /// The node's worker: runs queued jobs one after another until the
    /// queue closes. Failures are logged (without the address).
    pub async fn run_email_jobs(self, mut jobs: mpsc::Receiver<Job>) {
        while let Some(job) = jobs.recv().await {
            let (what, outcome) = match job {
                Job::Reset { email } => ("password reset", self.mail_reset_link(&email).await),
                Job::Code { email } => ("sign-in code", self.mail_sign_in_code(&email).await),
            };
            match outcome {
                Ok(()) | Err(AuthError::RateLimited { .. }) => {}
                Err(e) => tracing::warn!(error = %e, what, "e-mail job failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_address;

    #[test]
    fn addresses_are_checked_as_the_openapi_pattern_says() {
        for ok in [
            "alice@example.com",
            "A.B+tag@sub.example.COM",
            " padded@example.com\n",
            "é@bücher.example",
        ] {
            assert!(parse_address(ok).is_ok(), "{ok:?}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long = format!("a@{}", "b".repeat(253));
        for bad in [
            "",
            "no-at-sign",
            "@example.com",
            "alice@",
            "alice@.example.com",
            "alice@example.com.",
            "a b@example.com",
            "alice@exa\u{85}mple.com",
            "\"alice\"@example.com",
            "alice@example.com>",
            "a@b@example.com",
            long_local.as_str(),
            long.as_str(),
        ] {
            assert!(parse_address(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_address(" a@b.c ").ok().as_deref(), Some("a@b.c"));
    }
}
