//! The background sender: drains the outbox over SMTP (`lettre`), with
//! the loop and retry schedule every outbox shares (`crate::outbox`).
//!
//! Each node runs one. It claims due messages from the store (a claim is a
//! lease: another node takes a message only once its lease has run out,
//! so a node that dies mid-send is covered), sends them, and records the
//! outcome: sent; a retry after an exponential back-off; or, after
//! `email.max_attempts`, failed. It wakes when a message is queued on this
//! node and polls every `email.poll_interval` for the rest (other nodes'
//! messages, retries that came due, rows left by a restart). Requests
//! never wait on it. Logs name the message id and the error, never the
//! recipient's link or code.

use std::time::Duration;

use latchkey_core::Timestamp;
use latchkey_http::AppState;
use latchkey_store::{Delivery, Mail};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// `[email]`: how messages leave.
#[derive(Clone)]
pub struct SmtpSettings {
    /// `smtp://host[:port]` (STARTTLS when the server offers it) or
    /// `smtps://host[:port]` (TLS from the start).
    pub url: String,
    pub from: Mailbox,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Connecting and each SMTP command.
    pub timeout: Duration,
    /// Tries before a message is recorded as failed.
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles, up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// How often the outbox is read when nothing woke the sender.
    pub poll_interval: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &crate::app::redact_url(&self.url))
            .field("from", &self.from.to_string())
            .field("username", &self.username)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

/// Messages claimed per read of the outbox: one, so that a claim's lease
/// covers one send and a message whose sender died waits only that long.
const BATCH: u32 = 1;
/// Beyond the send's own deadline, how long a claim stays leased.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// Builds the SMTP transport for `s` (checked at start-up).
pub fn transport(s: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let (scheme, rest) = s
        .url
        .split_once("://")
        .ok_or("expected smtp://HOST[:PORT] or smtps://HOST[:PORT]")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            let port = p.parse::<u16>().map_err(|_| "the port is not a number")?;
            (h, Some(port))
        }
        _ => (host_port, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err("the URL names no host".into());
    }
    let tls = TlsParameters::new(host.to_owned()).map_err(|e| format!("TLS: {e}"))?;
    let (tls, default_port) = match scheme {
        "smtp" => (Tls::Opportunistic(tls), 587),
        "smtps" => (Tls::Wrapper(tls), 465),
        _ => return Err("the scheme must be smtp:// or smtps://".into()),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port.unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(s.timeout));
    if let (Some(user), Some(pass)) = (&s.username, &s.password) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    Ok(builder.build())
}

/// The sender and the node's e-mail job worker, when `[email]` is set.
pub fn spawn(state: &AppState, smtp: Option<SmtpSettings>) -> Vec<tokio::task::JoinHandle<()>> {
    let (Some(smtp), Some(email)) = (smtp, state.settings.email.as_ref()) else {
        return Vec::new();
    };
    let mut tasks = vec![tokio::spawn(run(state.clone(), smtp))];
    if let Some(jobs) = email.take_jobs() {
        tasks.push(tokio::spawn(state.auth.clone().run_email_jobs(jobs)));
    }
    tasks
}

/// Sends the outbox's messages until the task is aborted.
pub async fn run(state: AppState, settings: SmtpSettings) {
    let Some(email) = state.settings.email.clone() else {
        return;
    };
    let transport = match transport(&settings) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "e-mail sender not started");
            return;
        }
    };
    let wake = email.wake();
    let poll = settings.poll_interval;
    crate::outbox::drain_forever(poll, wake, BATCH, || {
        send_due(&state, &settings, &transport)
    })
    .await;
}

/// Claims and sends one batch; how many were claimed.
async fn send_due(
    state: &AppState,
    s: &SmtpSettings,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
) -> Result<usize, ()> {
    let now = state.clock.now();
    // The lease outlasts the send's deadline (`send_deadline`).
    let lease = now.saturating_add(send_deadline(s) + LEASE_MARGIN);
    let claimed = match state.store().claim_mail(now, lease, BATCH).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "outbox read failed");
            return Err(());
        }
    };
    for mail in &claimed {
        let outcome = match opened(state, mail) {
            Ok(mail) => send_one(s, transport, &mail).await,
            Err(e) => Err(e),
        };
        let at = state.clock.now();
        let delivery = decide(s, mail, outcome, at);
        record(state, mail, &delivery).await;
    }
    Ok(claimed.len())
}

/// The most one send may take: a few commands' timeouts.
fn send_deadline(s: &SmtpSettings) -> Duration {
    s.timeout.saturating_mul(4)
}

/// `mail` with its subject and bodies opened, when sealed.
fn opened(state: &AppState, mail: &Mail) -> Result<Mail, String> {
    if !mail.sealed {
        return Ok(mail.clone());
    }
    let key = state
        .auth
        .sealing
        .as_ref()
        .ok_or("the message is sealed and the master key is not set")?;
    let open = |s: &str| key.open_text(s, &mail.id).map_err(|e| e.to_string());
    Ok(Mail {
        subject: open(&mail.subject)?,
        text: open(&mail.text)?,
        html: open(&mail.html)?,
        sealed: false,
        ..mail.clone()
    })
}

async fn send_one(
    s: &SmtpSettings,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    mail: &Mail,
) -> Result<(), String> {
    let to: Mailbox = mail.to.parse().map_err(|e| format!("bad recipient: {e}"))?;
    let message = Message::builder()
        .from(s.from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| format!("message: {e}"))?;
    let sent = tokio::time::timeout(send_deadline(s), transport.send(message)).await;
    match sent {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

/// What becomes of `mail` after a try that went as `outcome`.
fn decide(s: &SmtpSettings, mail: &Mail, outcome: Result<(), String>, at: Timestamp) -> Delivery {
    let retries = crate::outbox::Retries {
        max_attempts: s.max_attempts,
        initial: s.retry_initial,
        max: s.retry_max,
    };
    retries.decide(mail.attempts, outcome, at)
}

async fn record(state: &AppState, mail: &Mail, delivery: &Delivery) {
    match delivery {
        Delivery::Sent { .. } => {
            state.metrics.email("sent");
            tracing::info!(mail_id = %mail.id, attempts = mail.attempts, "e-mail sent");
        }
        Delivery::Retry { error, .. } => {
            state.metrics.email("retry");
            tracing::warn!(mail_id = %mail.id, attempts = mail.attempts, %error, "e-mail not sent; will retry");
        }
        Delivery::Failed { error, .. } => {
            state.metrics.email("failed");
            tracing::error!(mail_id = %mail.id, attempts = mail.attempts, %error, "e-mail failed; giving up");
        }
    }
    if let Err(e) = state.store().finish_mail(&mail.id, delivery).await {
        // The lease runs out and the message is tried again.
        tracing::warn!(mail_id = %mail.id, error = %e, "outbox update failed");
    }
}
