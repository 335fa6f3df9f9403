//! The outbox: messages waiting for the background sender.

use async_trait::async_trait;
use latchkey_core::Timestamp;

use super::{Columns, Dialect, SqlStore, corrupt, q};
use crate::Result;
use crate::email::{Delivery, Mail, MailState, Outbox, OutboxCounts};

fn mail_from_row(row: &impl Columns) -> Result<Mail> {
    let state = row.text("state")?;
    Ok(Mail {
        id: row.text("id")?,
        to: row.text("recipient")?,
        subject: row.text("subject")?,
        text: row.text("text_body")?,
        html: row.text("html_body")?,
        sealed: row.flag("sealed")?,
        attempts: u32::try_from(row.int("attempts")?).map_err(corrupt)?,
        next_attempt_at: row.at("next_attempt_at")?,
        state: MailState::parse(&state)
            .ok_or_else(|| corrupt(format!("unknown outbox state {state:?}")))?,
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
        // The outer conditions are checked again on the row as it is when
        // its lock is obtained (PostgreSQL re-reads a row another claim
        // just moved; SQLite has one writer), so a row is claimed once.
        q(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 \
           WHERE state = 'pending' AND next_attempt_at <= $1 AND id IN \
           (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
            ORDER BY next_attempt_at, id LIMIT $3) RETURNING *",
        )
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(mail_from_row)
        .collect()
    }

    async fn finish_mail(&self, id: &str, delivery: &Delivery) -> Result<()> {
        let stmt = match delivery {
            Delivery::Sent { at } => q("UPDATE outbox SET state = 'sent', done_at = $2, \
                                        text_body = '', html_body = '', last_error = NULL \
                                        WHERE id = $1")
            .bind(id)
            .bind(*at),
            Delivery::Retry { next, error } => {
                q("UPDATE outbox SET next_attempt_at = $2, last_error = $3 \
                   WHERE id = $1 AND state = 'pending'")
                .bind(id)
                .bind(*next)
                .bind(error.as_str())
            }
            Delivery::Failed { at, error } => q(
                "UPDATE outbox SET state = 'failed', done_at = $2, last_error = $3, \
                   text_body = '', html_body = '' WHERE id = $1 AND state = 'pending'",
            )
            .bind(id)
            .bind(*at)
            .bind(error.as_str()),
        };
        stmt.execute(&self.pool).await.map(drop)
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
        let rows = q("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
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

    async fn sweep_mail(&self, cutoff: Timestamp) -> Result<u64> {
        q("DELETE FROM outbox WHERE state <> 'pending' AND done_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await
    }
}
