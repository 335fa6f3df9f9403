#![allow(clippy::unwrap_used, clippy::expect_used)]
// Real-time bounds on socket deadlines (never "took < X" assertions).
#![allow(clippy::disallowed_methods)]
//! latchkey-verify against a faithful peer: latchkey's own JWKS document
//! and an introspection endpoint, served over loopback.

mod assurance;
mod http;
mod introspection;
mod keys;
mod support;
mod tokens;
