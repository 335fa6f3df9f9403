//! Tests that drive the real `latchkey` binary as a separate process:
//! durability across `kill -9`, graceful shutdown, and the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Real-time bounds on process deadlines (never "took < X" assertions).
#![allow(clippy::disallowed_methods)]

mod admin_cli;
mod cli;
mod cluster;
mod durability;
mod email;
mod memory;
mod mfa_cli;
mod server;
mod tokens;
mod user_cli;
mod webhooks;
