//! The example's handlers: each extracts, does one thing, answers JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_verify::Claims;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::{digest_body, pattern_stream};

/// The longest `/slow` sleeps.
const MAX_SLOW_MS: u64 = 60_000;

/// `GET /whoami`: the verified claims.
pub(crate) async fn whoami(Claims(claims): Claims) -> Response {
    Json(claims).into_response()
}

/// `ANY /echo/{*rest}`: what arrived, with the body's hash and length.
pub(crate) async fn echo(Claims(claims): Claims, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut headers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.entry(name.as_str()).or_default().push(value);
    }
    let Ok((sha256, bytes)) = digest_body(body).await else {
        return problem(
            StatusCode::BAD_REQUEST,
            "body_error",
            "The body could not be read.",
        );
    };
    Json(json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body": { "sha256": sha256, "bytes": bytes },
        "sub": claims.sub,
    }))
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct SlowParams {
    #[serde(default)]
    ms: u64,
}

/// `GET /slow?ms=N`: answers after `N` milliseconds.
pub(crate) async fn slow(Query(params): Query<SlowParams>) -> Response {
    let ms = params.ms.min(MAX_SLOW_MS);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Json(json!({ "slept_ms": ms })).into_response()
}

#[derive(Deserialize)]
pub(crate) struct StreamParams {
    #[serde(default)]
    bytes: u64,
    #[serde(default = "default_chunk")]
    chunk: u64,
    #[serde(default)]
    delay_ms: u64,
}

fn default_chunk() -> u64 {
    16 * 1024
}

/// `GET /stream?bytes=N`: `N` bytes of the pattern, streamed.
pub(crate) async fn stream(Query(params): Query<StreamParams>) -> Response {
    let delay = Duration::from_millis(params.delay_ms.min(MAX_SLOW_MS));
    let body = pattern_stream(params.bytes, params.chunk, delay);
    ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
}

/// `POST /upload`: hash and length of the streamed body.
pub(crate) async fn upload(body: Body) -> Response {
    match digest_body(body).await {
        Ok((sha256, bytes)) => Json(json!({ "sha256": sha256, "bytes": bytes })).into_response(),
        Err(_) => problem(
            StatusCode::BAD_REQUEST,
            "body_error",
            "The body could not be read.",
        ),
    }
}

/// `GET /ws`: a WebSocket that echoes text and binary messages.
pub(crate) async fn ws(upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(echo_socket)
}

async fn echo_socket(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        let reply = match message {
            Message::Text(_) | Message::Binary(_) => message,
            Message::Close(_) => break,
            // Pings are answered by the WebSocket layer itself.
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

/// `GET /set-cookie`: an answer that sets a cookie.
pub(crate) async fn set_cookie() -> Response {
    let mut response = Json(json!({ "set_cookie": "example_upstream" })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("example_upstream=1; Path=/; HttpOnly; SameSite=Lax"),
    );
    response
}

/// Any other path.
pub(crate) async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "not_found", "There is nothing here.")
}

fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body: Value = json!({
        "type": format!("urn:latchkey:problem:{code}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}
