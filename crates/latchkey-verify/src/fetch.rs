//! The two HTTP calls to latchkey: GET the JWKS, POST an introspection.
//! Both have a timeout, read at most [`MAX_BODY`] bytes, and accept only
//! `200` with a JSON object.

use std::time::Duration;

use latchkey_tokens::AccessClaims;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

use crate::config::Introspection;
use crate::error::{BuildError, FetchError};

/// Larger answers are refused: a JWKS of a few keys is a few KiB.
pub(crate) const MAX_BODY: usize = 256 * 1024;

/// The client shared by every call: no redirects (the configured URL is
/// the one trusted), no cookies. Proxies follow the usual environment
/// variables (`HTTP_PROXY`, `NO_PROXY`).
pub(crate) fn client() -> Result<Client, BuildError> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        .build()
        .map_err(|error| BuildError::HttpClient(FetchError::from(error).to_string()))
}

/// `GET url`, expecting a JSON object.
pub(crate) async fn get_json(
    client: &Client,
    url: &str,
    timeout: Duration,
) -> Result<Value, FetchError> {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(timeout)
        .send()
        .await?;
    json_object(response).await
}

/// Asks latchkey's introspection whether `token` is active. `Ok(true)`
/// only for `200 {"active":true,…}` whose `jti`, if present, is the one
/// the token carries.
pub(crate) async fn introspect(
    client: &Client,
    config: &Introspection,
    token: &str,
    claims: &AccessClaims,
) -> Result<bool, FetchError> {
    let response = client
        .post(&config.url)
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&[("token", token)])
        .timeout(config.timeout)
        .send()
        .await?;
    let answer = json_object(response).await?;
    let active = answer.get("active") == Some(&Value::Bool(true));
    let same_token = answer
        .get("jti")
        .is_none_or(|jti| jti.as_str() == Some(claims.jti.as_str()));
    Ok(active && same_token)
}

/// The request's timeout also bounds reading the body (reqwest applies it
/// until the body has been read).
pub(crate) async fn json_object(response: Response) -> Result<Value, FetchError> {
    if response.status() != StatusCode::OK {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    let body = read_limited(response).await?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(value) if value.is_object() => Ok(value),
        _ => Err(FetchError::NotJson),
    }
}

async fn read_limited(mut response: Response) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
