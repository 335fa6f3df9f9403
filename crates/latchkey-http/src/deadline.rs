//! A deadline for reading a request body on latchkey's own routes
//! (`server.body_read_timeout`, counted from the end of the request head).
//! A body still arriving then — trickled a byte at a time, or chunked
//! without end — fails the extractor reading it, which answers `408
//! request_timeout`; the connection is closed after that answer (hyper does
//! not reuse a connection whose request body was not read to its end).
//!
//! The BFF (`/bff/…`) streams bodies to its upstream under each API's own
//! limits (`timeout_ms`, `max_body_bytes`) and is not covered here.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use hyper::body::{Frame, SizeHint};
use tokio::time::Sleep;

/// The error a body yields once its deadline has passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// Puts the body deadline on `req`'s body, counted from now, if it has
/// one: a request known to carry no body (most GETs) keeps its empty body
/// and costs no timer.
pub fn limit_body(req: &mut Request, limit: Duration) {
    if req.body().is_end_stream() {
        return;
    }
    let body = std::mem::take(req.body_mut());
    *req.body_mut() = Body::new(DeadlineBody {
        inner: body,
        deadline: Box::pin(tokio::time::sleep(limit)),
        expired: false,
    });
}

/// Whether `err`, or an error it wraps, is a [`BodyTimedOut`].
pub fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.is::<BodyTimedOut>() {
            return true;
        }
        cur = e.source();
    }
    false
}

struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    expired: bool,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired = true;
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
