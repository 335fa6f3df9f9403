//! [`RequireLatchkeyLayer`]: a tower layer that lets through only requests
//! with a valid latchkey access token.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::extract::{Verified, authenticate, bearer_token};
use crate::verifier::LatchkeyVerifier;

/// Wraps a service so that it only sees requests whose bearer token the
/// verifier accepted. The verified [`latchkey_tokens::AccessClaims`] are
/// inserted into the request extensions (take them with
/// `Extension<AccessClaims>` or [`crate::Claims`]); any other request is
/// answered by the layer itself with an [`crate::AuthRejection`].
///
/// ```no_run
/// # use axum::{Router, routing::get};
/// # use latchkey_verify::{LatchkeyVerifier, RequireLatchkeyLayer, VerifierConfig};
/// # fn app() -> Result<Router, latchkey_verify::BuildError> {
/// let verifier = LatchkeyVerifier::new(VerifierConfig::for_latchkey(
///     "http://127.0.0.1:8080",
///     "latchkey",
/// ))?;
/// Ok(Router::new()
///     .route("/orders", get(|| async { "…" }))
///     .route_layer(RequireLatchkeyLayer::new(verifier)))
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RequireLatchkeyLayer {
    verifier: LatchkeyVerifier,
}

impl RequireLatchkeyLayer {
    /// A layer verifying with `verifier`.
    pub fn new(verifier: LatchkeyVerifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for RequireLatchkeyLayer {
    type Service = RequireLatchkey<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireLatchkey {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service made by [`RequireLatchkeyLayer`].
#[derive(Clone, Debug)]
pub struct RequireLatchkey<S> {
    inner: S,
    verifier: LatchkeyVerifier,
}

impl<S, B> Service<Request<B>> for RequireLatchkey<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone is not ready; the instance polled ready is used below.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let token = bearer_token(request.headers(), request.uri()).map(str::to_owned);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let verified = match token {
                Ok(token) => authenticate(&verifier, &token).await,
                Err(rejection) => Err(rejection),
            };
            match verified {
                Ok(claims) => {
                    let extensions = request.extensions_mut();
                    extensions.insert(Verified(Arc::new(claims.clone())));
                    extensions.insert(claims);
                    inner.call(request).await.map(IntoResponse::into_response)
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}
