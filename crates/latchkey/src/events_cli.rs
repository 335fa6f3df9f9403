//! `latchkey events [--user NAME] [--type TYPE] [--follow]`: the audit
//! trail, one JSON object per line, oldest first.

use std::time::Duration;

use anyhow::Context as _;
use latchkey_core::Username;
use latchkey_store::{AuditEvent, EventQuery, Store};

/// How often `--follow` asks for new events.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);
const PAGE: u32 = 500;

fn line(e: &AuditEvent) -> String {
    event_json(e).to_string()
}

/// An event as `GET /admin/v1/events` lists it (a line here, a webhook's
/// body with its name added).
pub fn event_json(e: &AuditEvent) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "type": e.kind,
        "at": e.at.to_rfc3339(),
        "user_id": e.user_id.map(|u| u.to_string()),
        "ip": e.ip,
        "user_agent": e.user_agent,
        "request_id": e.request_id,
        "detail": serde_json::from_str::<serde_json::Value>(&e.detail).unwrap_or_default(),
    })
}

pub async fn run(
    store: &dyn Store,
    user: Option<&str>,
    kind: Option<&str>,
    follow: bool,
) -> anyhow::Result<()> {
    let user = match user {
        Some(name) => {
            let name =
                Username::parse(name).map_err(|e| anyhow::anyhow!("invalid username: {e}"))?;
            let found = store.user_by_name(&name).await?;
            Some(found.with_context(|| format!("no user named {name}"))?.id)
        }
        None => None,
    };
    let mut after = None;
    loop {
        let page = store
            .events(EventQuery {
                user,
                kind,
                after,
                newest_first: false,
                limit: PAGE,
            })
            .await?;
        for e in &page {
            println!("{}", line(e));
        }
        if let Some(last) = page.last() {
            after = Some(last.id);
        }
        if page.len() == PAGE as usize {
            continue;
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}
