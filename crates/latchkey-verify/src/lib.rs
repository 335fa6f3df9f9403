//! For Rust resource servers: accept latchkey access tokens.
//!
//! A [`LatchkeyVerifier`] checks tokens locally against latchkey's public
//! keys (its JWKS, fetched and cached) with every rule of
//! [`latchkey_tokens::Verifier`], and can additionally ask latchkey's
//! introspection endpoint whether the token was revoked. Put it in front of
//! routes with [`RequireLatchkeyLayer`], or take [`Claims`] in a handler.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use latchkey_verify::{Claims, LatchkeyVerifier, VerifierConfig};
//!
//! # fn app() -> Result<Router, latchkey_verify::BuildError> {
//! let config = VerifierConfig::for_latchkey("http://latchkey.internal:8080", "latchkey");
//! let verifier = LatchkeyVerifier::new(config)?;
//! let app = Router::new()
//!     .route("/me", get(|Claims(claims): Claims| async move { claims.sub }))
//!     .with_state(verifier);
//! # Ok(app) }
//! ```
//!
//! # What is checked
//!
//! * The token comes from `Authorization: Bearer` only; a request with
//!   `access_token` in its query string is refused (`400`).
//! * The algorithm is the one bound to the key found by `kid`, never the
//!   token's choice; `none`, embedded keys and unknown header parameters
//!   are refused; `typ` must be `at+jwt`.
//! * `iss` must equal the configured issuer, `aud` must be or contain the
//!   configured audience, `exp` must be in the future (with the configured
//!   leeway, default none), as must `nbf`/`iat` not be.
//! * With [`Introspection`] configured, latchkey must also answer
//!   `{"active":true}`; if it cannot be asked, the token is refused.
//! * With a [`RevocationFeed`] configured (and
//!   [`LatchkeyVerifier::spawn_revocation_feed`] called), the token must
//!   not be on the denylist the feed fills (revoked `jti`, ended session
//!   or family `sid`, user not-before); while the feed has been silent
//!   longer than its `max_silence`, or before it first answers, every
//!   token is refused.
//!
//! # How the caller signed in
//!
//! [`AccessClaims`] carry `amr` (RFC 8176 values: `pwd`, `otp`, `hwk`,
//! `swk`, `mfa`, …) and `auth_time` (seconds). A route that needs more
//! than a valid token demands it with an [`AuthRequirement`] through
//! [`LatchkeyVerifier::require`]; a token that falls short is refused with
//! RFC 9470's `insufficient_user_authentication`.
//!
//! # Keys
//!
//! The JWKS is fetched by the first verification (or by
//! [`LatchkeyVerifier::refresh`]), then kept. A token whose `kid` is not in
//! it — latchkey rotated its key — makes the verifier fetch the JWKS again,
//! once per [`VerifierConfig::refetch_min_interval`] at most, with
//! concurrent callers sharing one fetch, and retry once. Keys are also
//! refreshed when older than [`VerifierConfig::jwks_max_age`]. When latchkey
//! is unreachable the cached keys go on verifying.
//!
//! # Transport
//!
//! Calls to latchkey use reqwest without TLS by default: resource servers
//! usually reach latchkey over an internal network by `http://`. For
//! `https://` URLs enable this crate's `rustls` feature.
//!
//! # Time
//!
//! [`clock::system_now`] is the only place that reads the system clock;
//! [`LatchkeyVerifier::with_clock`] takes any other [`Clock`], which is how
//! the tests move time.

#![warn(missing_docs)]

mod assurance;
pub mod clock;
mod config;
mod error;
mod extract;
mod feed;
mod fetch;
mod keys;
mod layer;
mod rejection;
mod verifier;

pub use assurance::AuthRequirement;
pub use clock::Clock;
pub use config::{Introspection, VerifierConfig};
pub use error::{BuildError, FetchError, JwksError, VerifyError};
pub use extract::{Claims, bearer_token};
pub use feed::RevocationFeed;
pub use latchkey_tokens::{AccessClaims, TokenError};
pub use layer::{RequireLatchkey, RequireLatchkeyLayer};
pub use rejection::AuthRejection;
pub use verifier::LatchkeyVerifier;
