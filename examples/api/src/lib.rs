//! An example resource server protected by `latchkey-verify`, and the
//! upstream the BFF tests talk to.
//!
//! Every route except `GET /healthz` requires a latchkey access token
//! (`Authorization: Bearer`), checked by [`RequireLatchkeyLayer`]:
//!
//! | route | answers |
//! | --- | --- |
//! | `GET /healthz` | `ok` (no token needed) |
//! | `GET /whoami` | the verified claims as JSON |
//! | `ANY /echo/{*rest}` (and `/echo`) | `{"method","path","query","headers":{name:[values]},"body":{"sha256","bytes"},"sub"}`; the body is hashed as it streams in |
//! | `GET /slow?ms=N` | sleeps `N` ms (at most 60 000), then `{"slept_ms":N}` |
//! | `GET /stream?bytes=N[&chunk=C][&delay_ms=D]` | `N` bytes of `abc…xyzabc…` in chunks of `C` (default 16 KiB), `D` ms apart |
//! | `POST /upload` | `{"sha256","bytes"}` of the body, hashed as it streams in |
//! | `GET /ws` | WebSocket echo of text and binary messages |
//! | `GET /set-cookie` | `Set-Cookie: example_upstream=1; …` (for the BFF's cookie stripping) |
//!
//! Refusals are latchkey's problem JSON with the RFC 6750 challenge; an
//! unknown path is a `404` problem JSON.

mod body;
mod routes;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::{any, get, post};
use latchkey_verify::{LatchkeyVerifier, RequireLatchkeyLayer};
use tokio::net::TcpListener;

pub use body::{pattern_byte, sha256_hex};

/// The example's router. `verifier` checks every route but `/healthz`.
pub fn app(verifier: LatchkeyVerifier) -> Router {
    let protected = Router::new()
        .route("/whoami", get(routes::whoami))
        .route("/echo", any(routes::echo))
        .route("/echo/{*rest}", any(routes::echo))
        .route("/slow", get(routes::slow))
        .route("/stream", get(routes::stream))
        .route("/upload", post(routes::upload))
        .route("/ws", get(routes::ws))
        .route("/set-cookie", get(routes::set_cookie))
        .route_layer(RequireLatchkeyLayer::new(verifier.clone()))
        .with_state(verifier);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(protected)
        .fallback(routes::not_found)
}

/// Serves [`app`] on `listener` until the future is dropped or fails.
pub async fn serve(listener: TcpListener, verifier: LatchkeyVerifier) -> std::io::Result<()> {
    axum::serve(listener, app(verifier)).await
}

/// Starts [`app`] on `127.0.0.1` at a free port in a background task, for
/// tests; returns its address.
pub async fn spawn(verifier: LatchkeyVerifier) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = serve(listener, verifier).await {
            tracing::error!(%error, "example-api stopped");
        }
    });
    Ok(addr)
}
