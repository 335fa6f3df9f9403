#![allow(clippy::unwrap_used, clippy::expect_used)]
//! latchkey-verify against a faithful peer: latchkey's own JWKS document
//! and an introspection endpoint, served over loopback.

mod http;
mod introspection;
mod keys;
mod support;
mod tokens;
