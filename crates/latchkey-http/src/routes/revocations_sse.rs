//! The revocation feed as Server-Sent Events: one `revocations` event per
//! batch (the long poll's JSON: `entries` and `next`), sent as revocations
//! reach this node, with keep-alive comments in between. A stream ends
//! after [`STREAM_LIFETIME`] (or when the store fails); the client
//! reconnects with `after` = the last `next`, as after a long poll.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};

use super::revocations::{Feed, entry};
use crate::state::AppState;

/// How long one stream lasts: bounded, so a connection (and its task)
/// never lives forever.
pub const STREAM_LIFETIME: Duration = Duration::from_secs(300);

/// How long a quiet stream waits before reading the store again anyway.
const QUIET: Duration = Duration::from_secs(15);

struct Cursor {
    state: AppState,
    after: i64,
    until: Duration,
}

pub(super) fn stream(state: AppState, after: i64) -> Response {
    let until = state.clock.monotonic() + STREAM_LIFETIME;
    let events = batches(Cursor {
        state,
        after,
        until,
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response()
}

fn batches(start: Cursor) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(start, |mut c| async move {
        loop {
            if c.state.clock.monotonic() >= c.until {
                return None;
            }
            let state = c.state.clone();
            let changed = state.revocations_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let (entries, next) = state
                .store()
                .revocations_since(c.after, state.clock.now())
                .await
                .ok()?;
            if !entries.is_empty() {
                c.after = next;
                let feed = Feed {
                    entries: entries.iter().map(|r| entry(r, next)).collect(),
                    next,
                };
                let event = Event::default()
                    .event("revocations")
                    .id(next.to_string())
                    .json_data(&feed)
                    .ok()?;
                return Some((Ok(event), c));
            }
            let _ = tokio::time::timeout(QUIET, changed).await;
        }
    })
}
