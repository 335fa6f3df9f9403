//! Outboxes: rows waiting for a background sender — e-mail (`outbox`)
//! and webhook deliveries (`webhook_deliveries`, in `webhooks`). Both
//! tables share the columns of a queue (`id`, `attempts`,
//! `next_attempt_at`, `state`, `last_error`, `done_at`) and so the
//! statements that claim, finish, count and sweep them, written once
//! here ([`OutboxSql`]) and instantiated per table.

use async_trait::async_trait;
use latchkey_core::Timestamp;
use sqlx::Pool;

use super::{Columns, Dialect, SqlStore, Stmt, corrupt, q};
use crate::Result;
use crate::email::{Delivery, Mail, MailState, Outbox, OutboxCounts};

/// The queue statements of one outbox table.
pub(super) struct OutboxSql {
    /// `$1` now, `$2` the lease's end, `$3` how many: counts a try on each
    /// due pending row and moves its next try past the lease. The outer
    /// conditions are checked again on the row as it is when its lock is
    /// obtained (PostgreSQL re-reads a row another claim just moved;
    /// SQLite has one writer), so a row is claimed once.
    claim: &'static str,
    /// `$1` id, `$2` when.
    sent: &'static str,
    /// `$1` id, `$2` the next try, `$3` the error.
    retry: &'static str,
    /// `$1` id, `$2` when, `$3` the error.
    failed: &'static str,
    counts: &'static str,
    /// `$1` the cutoff.
    sweep: &'static str,
}

/// [`OutboxSql`] for `$table`; `$clear` is extra `SET` assignments run
/// when a row is done (e-mail empties its bodies).
macro_rules! outbox_sql {
    ($table:literal, $clear:literal) => {
        OutboxSql {
            claim: concat!(
                "UPDATE ",
                $table,
                " SET attempts = attempts + 1, next_attempt_at = $2 \
                 WHERE state = 'pending' AND next_attempt_at <= $1 AND id IN \
                 (SELECT id FROM ",
                $table,
                " WHERE state = 'pending' AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT $3) RETURNING *"
            ),
            sent: concat!(
                "UPDATE ",
                $table,
                " SET state = 'sent', done_at = $2, last_error = NULL",
                $clear,
                " WHERE id = $1"
            ),
            retry: concat!(
                "UPDATE ",
                $table,
                " SET next_attempt_at = $2, last_error = $3 \
                 WHERE id = $1 AND state = 'pending'"
            ),
            failed: concat!(
                "UPDATE ",
                $table,
                " SET state = 'failed', done_at = $2, last_error = $3",
                $clear,
                " WHERE id = $1 AND state = 'pending'"
            ),
            counts: concat!(
                "SELECT state, COUNT(*) AS n FROM ",
                $table,
                " GROUP BY state"
            ),
            sweep: concat!(
                "DELETE FROM ",
                $table,
                " WHERE state <> 'pending' AND done_at < $1"
            ),
        }
    };
}

pub(super) const MAIL: OutboxSql = outbox_sql!("outbox", ", text_body = '', html_body = ''");
pub(super) const WEBHOOKS: OutboxSql = outbox_sql!("webhook_deliveries", "");

impl OutboxSql {
    /// Claims due rows (see [`claim`](Self::claim)), as they now are.
    pub(super) async fn claim<D: Dialect>(
        &self,
        pool: &Pool<D>,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<D::Row>> {
        q(self.claim)
            .bind(now)
            .bind(lease_until)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    }

    /// The statement recording `delivery` for row `id`.
    pub(super) fn finish<'a>(&self, id: &'a str, delivery: &'a Delivery) -> Stmt<'a> {
        match delivery {
            Delivery::Sent { at } => q(self.sent).bind(id).bind(*at),
            Delivery::Retry { next, error } => {
                q(self.retry).bind(id).bind(*next).bind(error.as_str())
            }
            Delivery::Failed { at, error } => {
                q(self.failed).bind(id).bind(*at).bind(error.as_str())
            }
        }
    }

    pub(super) async fn counts<D: Dialect>(&self, pool: &Pool<D>) -> Result<OutboxCounts> {
        let rows = q(self.counts).fetch_all(pool).await?;
        let mut counts = OutboxCounts::default();
        for row in &rows {
            let n = u64::try_from(row.int("n")?).map_err(corrupt)?;
            match MailState::parse(&row.text("state")?) {
                Some(MailState::Pending) => counts.pending = n,
                Some(MailState::Sent) => counts.sent = n,
                Some(MailState::Failed) => counts.failed = n,
                None => {}
            }
        }
        Ok(counts)
    }

    pub(super) async fn sweep<D: Dialect>(&self, pool: &Pool<D>, cutoff: Timestamp) -> Result<u64> {
        q(self.sweep).bind(cutoff).execute(pool).await
    }
}

/// An outbox row's state column.
pub(super) fn state(row: &impl Columns) -> Result<MailState> {
    let state = row.text("state")?;
    MailState::parse(&state).ok_or_else(|| corrupt(format!("unknown outbox state {state:?}")))
}

fn mail_from_row(row: &impl Columns) -> Result<Mail> {
    Ok(Mail {
        id: row.text("id")?,
        to: row.text("recipient")?,
        subject: row.text("subject")?,
        text: row.text("text_body")?,
        html: row.text("html_body")?,
        sealed: row.flag("sealed")?,
        attempts: u32::try_from(row.int("attempts")?).map_err(corrupt)?,
        next_attempt_at: row.at("next_attempt_at")?,
        state: state(row)?,
        last_error: row.opt_text("last_error")?,
        created_at: row.at("created_at")?,
    })
}

#[async_trait]
impl<D: Dialect> Outbox for SqlStore<D> {
    async fn enqueue_mail(&self, m: &Mail) -> Result<()> {
        q(
            "INSERT INTO outbox (id, recipient, subject, text_body, html_body, sealed, attempts, \
             next_attempt_at, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(m.id.as_str())
        .bind(m.to.as_str())
        .bind(m.subject.as_str())
        .bind(m.text.as_str())
        .bind(m.html.as_str())
        .bind(m.sealed)
        .bind(i64::from(m.attempts))
        .bind(m.next_attempt_at)
        .bind(m.state.as_str())
        .bind(m.created_at)
        .unique("message id repeated")
        .execute(&self.pool)
        .await
        .map(drop)
    }

    async fn claim_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Mail>> {
        MAIL.claim(&self.pool, now, lease_until, limit)
            .await?
            .iter()
            .map(mail_from_row)
            .collect()
    }

    async fn finish_mail(&self, id: &str, delivery: &Delivery) -> Result<()> {
        MAIL.finish(id, delivery)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn mail(&self, id: &str) -> Result<Option<Mail>> {
        q("SELECT * FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(mail_from_row)
            .transpose()
    }

    async fn outbox_counts(&self) -> Result<OutboxCounts> {
        MAIL.counts(&self.pool).await
    }

    async fn sweep_mail(&self, cutoff: Timestamp) -> Result<u64> {
        MAIL.sweep(&self.pool, cutoff).await
    }
}
