//! latchkey-tokens' integration tests: one binary, one module per concern.
//! Every test runs at the fixed time `support::NOW`; nothing reads the clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attacks_claims;
mod attacks_header;
mod attacks_signature;
mod interop;
mod properties;
mod rfc_vectors;
mod round_trips;
mod support;
