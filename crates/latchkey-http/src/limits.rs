//! Per-address limits on the endpoints that have no other throttle:
//! registration (an argon2 hash per call), the refresh, revoke and
//! introspection endpoints, the hybrid's cookie refresh, and the passkey
//! options (each stores a WebAuthn ceremony) and sign-in.
//!
//! One route layer serves them all: it finds the matched route in
//! [`AddressLimits`], counts the request against the client's address in
//! the store (the same fixed-window counters as login throttling, so
//! counts survive restarts and are shared between nodes), and answers
//! `429` with `Retry-After` once the window's allowance is spent (a page
//! for the pages' routes, problem JSON for the API). Every request counts,
//! good or bad, and it is counted before the handler runs.

use std::time::Duration;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use latchkey_core::throttle::{self, Decision};
use tower::{Layer, Service};

use crate::caller::client_ip;
use crate::error::ApiError;
use crate::state::AppState;

/// Requests allowed per client address (IPv6 by /64) within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteLimit {
    pub per_address: u32,
    pub window: Duration,
}

impl RouteLimit {
    const fn new(per_address: u32, window_secs: u64) -> Self {
        Self {
            per_address,
            window: Duration::from_secs(window_secs),
        }
    }
}

/// The limited endpoints and their limits (`rate_limits.*` in the
/// configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressLimits {
    /// `POST /v1/register`: 10 an hour.
    pub register: RouteLimit,
    /// `POST /v1/token/refresh`: 60 a minute.
    pub token_refresh: RouteLimit,
    /// `POST /v1/token/revoke`: 60 a minute.
    pub token_revoke: RouteLimit,
    /// `POST /v1/token/introspect`: 1200 a minute (resource servers call
    /// it per request).
    pub token_introspect: RouteLimit,
    /// `POST /v1/cookie/refresh`: 60 a minute.
    pub cookie_refresh: RouteLimit,
    /// `POST /v1/mfa/verify` (each code is also counted by the login
    /// throttle; this bounds requests with unknown tokens); also the limit
    /// of `POST /v1/mfa/webauthn/options` and of the page's code step
    /// `POST /login/code`, each counted apart.
    pub mfa_verify: RouteLimit,
    /// `POST /v1/passkeys/login/options` and `…/register/options` (each
    /// stores a ceremony): 30 a minute.
    pub passkey_options: RouteLimit,
    /// `POST /v1/passkeys/login`: 30 a minute.
    pub passkey_login: RouteLimit,
    /// Every `/admin/v1/…` route, counted together: 600 a minute (a back
    /// office's traffic; bounds guessing at admin keys).
    pub admin: RouteLimit,
    /// A provider sign-in's start (each stores a pending authorisation),
    /// its callback, and back-channel logout: 60 a minute, each counted
    /// apart.
    pub oidc: RouteLimit,
    /// `POST /v1/password/forgot` and `POST /v1/email/code` (each may send
    /// a message), counted apart: 10 an hour.
    pub email_send: RouteLimit,
    /// `POST /v1/email/verify` and `POST /v1/password/reset` (link
    /// tokens), counted apart: 30 a minute.
    pub email_link: RouteLimit,
    /// `POST /v1/email/login` (each code is also counted by the login
    /// throttle and the code's five tries): 30 a minute.
    pub email_login: RouteLimit,
}

impl Default for AddressLimits {
    fn default() -> Self {
        Self {
            register: RouteLimit::new(10, 3600),
            token_refresh: RouteLimit::new(60, 60),
            token_revoke: RouteLimit::new(60, 60),
            token_introspect: RouteLimit::new(1200, 60),
            cookie_refresh: RouteLimit::new(60, 60),
            mfa_verify: RouteLimit::new(60, 60),
            passkey_options: RouteLimit::new(30, 60),
            passkey_login: RouteLimit::new(30, 60),
            admin: RouteLimit::new(600, 60),
            oidc: RouteLimit::new(60, 60),
            email_send: RouteLimit::new(10, 3600),
            email_link: RouteLimit::new(30, 60),
            email_login: RouteLimit::new(30, 60),
        }
    }
}

impl AddressLimits {
    /// The counter name and limit of a matched route, if it is limited.
    pub fn for_route(&self, route: &str) -> Option<(&'static str, RouteLimit)> {
        match route {
            "/v1/register" => Some(("register", self.register)),
            "/v1/token/refresh" => Some(("token_refresh", self.token_refresh)),
            "/v1/token/revoke" => Some(("token_revoke", self.token_revoke)),
            "/v1/token/introspect" => Some(("token_introspect", self.token_introspect)),
            // The feed's clients are introspection's; the same allowance.
            "/v1/revocations" => Some(("revocations", self.token_introspect)),
            "/v1/cookie/refresh" => Some(("cookie_refresh", self.cookie_refresh)),
            "/v1/mfa/verify" => Some(("mfa_verify", self.mfa_verify)),
            "/v1/mfa/webauthn/options" => Some(("mfa_webauthn_options", self.mfa_verify)),
            "/login/code" => Some(("login_code", self.mfa_verify)),
            "/v1/passkeys/login/options" | "/v1/passkeys/register/options" => {
                Some(("passkey_options", self.passkey_options))
            }
            "/v1/passkeys/login" => Some(("passkey_login", self.passkey_login)),
            "/v1/oidc/{provider}/start" => Some(("oidc_start", self.oidc)),
            "/v1/oidc/{provider}/callback" => Some(("oidc_callback", self.oidc)),
            "/v1/oidc/{provider}/backchannel-logout" => Some(("oidc_logout", self.oidc)),
            "/v1/password/forgot" => Some(("password_forgot", self.email_send)),
            "/v1/email/code" => Some(("email_code", self.email_send)),
            "/v1/email/verify" => Some(("email_verify", self.email_link)),
            "/v1/password/reset" => Some(("password_reset", self.email_link)),
            "/v1/email/login" => Some(("email_login", self.email_login)),
            "/forgot" => Some(("ui_forgot", self.email_send)),
            "/reset" | "/verify" => Some(("ui_email_link", self.email_link)),
            r if r.starts_with("/admin/") => Some(("admin", self.admin)),
            _ => None,
        }
    }

    /// The longest window: counters younger than this must not be swept.
    pub fn longest_window(&self) -> Duration {
        [
            self.register,
            self.token_refresh,
            self.token_revoke,
            self.token_introspect,
            self.cookie_refresh,
            self.mfa_verify,
            self.passkey_options,
            self.passkey_login,
            self.admin,
            self.oidc,
            self.email_send,
            self.email_link,
            self.email_login,
        ]
        .iter()
        .map(|l| l.window)
        .max()
        .unwrap_or_default()
    }
}

/// The route layer: counts the request against its address and refuses it
/// over the limit. Requests without a known address are not limited.
#[derive(Clone)]
pub struct PerAddressLayer {
    state: AppState,
}

impl PerAddressLayer {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for PerAddressLayer {
    type Service = PerAddress<S>;

    fn layer(&self, inner: S) -> PerAddress<S> {
        PerAddress {
            inner,
            state: self.state.clone(),
        }
    }
}

/// [`PerAddressLayer`]'s service. A route without a limit (every hot path)
/// is handed on as it is, at no cost; only a limited one waits for the
/// store's count first.
#[derive(Clone)]
pub struct PerAddress<S> {
    inner: S,
    state: AppState,
}

type Limited = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for PerAddress<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Limited>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        // A page's form gets a page back, never problem JSON; a page counts
        // its forms, not its views.
        let page = route.is_some_and(|p| !p.starts_with("/v1/") && !p.starts_with("/admin/"));
        let page_view = page && req.method() == axum::http::Method::GET;
        let limited = route
            .filter(|_| !page_view)
            .and_then(|p| self.state.settings.address_limits.for_route(p));
        let trusted = &self.state.settings.trusted_proxies;
        let Some(((name, limit), ip)) = limited
            .and_then(|l| client_ip(req.extensions(), req.headers(), trusted).map(|ip| (l, ip)))
        else {
            return Either::Left(self.inner.call(req));
        };
        // The service that was polled ready answers, after the count.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let state = self.state.clone();
        Either::Right(Box::pin(async move {
            let key = format!("rl:{name}:{}", throttle::address_key(ip));
            if let Err(e) = admit(&state, &key, limit).await {
                if matches!(e, ApiError::RateLimited { .. }) {
                    state.metrics.rate_limited(name);
                }
                if page {
                    return Ok(crate::ui::forms::error_page(e));
                }
                return Ok(e.into_response());
            }
            inner.call(req).await
        }))
    }
}

async fn admit(state: &AppState, key: &str, limit: RouteLimit) -> Result<(), ApiError> {
    let now = state.clock.now();
    let window = state.store.record_failure(key, limit.window, now).await?;
    match throttle::admit(window, limit.per_address, limit.window, now) {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after } => Err(ApiError::RateLimited { retry_after }),
    }
}
