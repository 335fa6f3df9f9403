//! The HTTP client the provider calls go through: reqwest (rustls), no
//! redirects (the issuer's URLs are the ones trusted), no cookies, a
//! timeout on every call and a bounded answer.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// Larger answers are refused: a discovery document or a JWKS is a few
/// KiB, a token response less.
pub const MAX_BODY: usize = 256 * 1024;

/// Why a call to a provider failed (no URL, token or body is quoted).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request failed: {0}")]
    Request(String),
    #[error("answer larger than {MAX_BODY} bytes")]
    TooLarge,
}

/// Cheap to clone (reqwest's client is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
    timeout: Duration,
}

impl Http {
    pub fn new(timeout: Duration) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .build()
            .map_err(|e| HttpError::Request(without_url(&e)))?;
        Ok(Self { client, timeout })
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let mut response = self
            .client
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| HttpError::Request(without_url(&e)))?;
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err(HttpError::TooLarge);
        }
        let mut out = http::Response::builder().status(response.status());
        if let Some(headers) = out.headers_mut() {
            *headers = response.headers().clone();
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| HttpError::Request(without_url(&e)))?
        {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        out.body(bytes)
            .map_err(|e| HttpError::Request(e.to_string()))
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    kind.to_owned()
}

type Sending<'c> = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Sending<'c>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
