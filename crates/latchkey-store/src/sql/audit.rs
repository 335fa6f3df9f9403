//! The audit trail's table.

use async_trait::async_trait;
use latchkey_core::{Timestamp, UserId};

use super::{Columns, Dialect, SqlStore, Tx, commit, corrupt, q};
use crate::audit::{Audit, AuditEvent, EventQuery};
use crate::{Ended, Result, RevokeAt, StoreError};

pub(super) fn event_from_row(row: &impl Columns) -> Result<AuditEvent> {
    let user_id = match row.opt_text("user_id")? {
        Some(id) => Some(UserId::parse(&id).map_err(corrupt)?),
        None => None,
    };
    Ok(AuditEvent {
        id: row.int("id")?,
        kind: row.text("type")?,
        at: row.at("at")?,
        user_id,
        ip: row.opt_text("ip")?,
        user_agent: row.opt_text("user_agent")?,
        request_id: row.opt_text("request_id")?,
        detail: row.text("detail")?,
        webhooks: Vec::new(),
    })
}

/// Records `e` inside `tx` with a pending delivery to each of its
/// webhooks (due at once); the event's id. Every audit write goes through
/// here, so an event joining another change's transaction brings its
/// deliveries along.
pub(super) async fn insert_event<D: Dialect>(tx: &mut Tx<D>, e: &AuditEvent) -> Result<i64> {
    let user = e.user_id.map(|u| u.to_string());
    let id = q(
        "INSERT INTO audit_events (type, at, user_id, ip, user_agent, request_id, detail) \
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(e.kind.as_str())
    .bind(e.at)
    .bind(user.as_deref())
    .bind(e.ip.as_deref())
    .bind(e.user_agent.as_deref())
    .bind(e.request_id.as_deref())
    .bind(e.detail.as_str())
    .fetch_one(&mut *tx)
    .await?
    .int("id")?;
    for webhook in &e.webhooks {
        let delivery = delivery_id()?;
        q(
            "INSERT INTO webhook_deliveries (id, webhook, event_id, attempts, next_attempt_at, \
             state, created_at) VALUES ($1, $2, $3, 0, $4, 'pending', $4)",
        )
        .bind(delivery.as_str())
        .bind(webhook.as_str())
        .bind(id)
        .bind(e.at)
        .unique("webhook named twice")
        .execute(&mut *tx)
        .await?;
    }
    Ok(id)
}

/// A new delivery id: 128 random bits, in hex.
fn delivery_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| StoreError::Unavailable("no randomness for a delivery id".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

const OLDEST_FIRST: &str = "SELECT * FROM audit_events \
     WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR type = $2) \
     AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4";
const NEWEST_FIRST: &str = "SELECT * FROM audit_events \
     WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR type = $2) \
     AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4";

/// Records the event `at` describes for a change that ended `ended`,
/// inside that change's transaction (nothing if it describes none).
pub(super) async fn record_change<D: Dialect>(
    tx: &mut Tx<D>,
    at: RevokeAt<'_>,
    ended: &Ended,
) -> Result<()> {
    if let Some(event) = at.described(ended) {
        insert_event(tx, &event).await?;
    }
    Ok(())
}

#[async_trait]
impl<D: Dialect> Audit for SqlStore<D> {
    async fn record_event(&self, e: &AuditEvent) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = insert_event(&mut tx, e).await?;
        commit(tx).await?;
        Ok(id)
    }

    async fn events(&self, query: EventQuery<'_>) -> Result<Vec<AuditEvent>> {
        let user = query.user.map(|u| u.to_string());
        let sql = if query.newest_first {
            NEWEST_FIRST
        } else {
            OLDEST_FIRST
        };
        q(sql)
            .bind(user.as_deref())
            .bind(query.kind)
            .bind(query.after)
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }

    async fn sweep_events(&self, before: Timestamp) -> Result<u64> {
        q("DELETE FROM audit_events WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
    }
}
