//! The latchkey binary's library half: configuration, the application
//! factory used by `main` and by the end-to-end tests alike, the HTTP
//! server loop, telemetry, and the CLI subcommands.

pub mod admin_cli;
pub mod app;
pub mod cli;
pub mod cli_forward;
pub mod clock;
pub mod config;
pub mod events_cli;
pub mod fdlimit;
mod log_line;
pub mod mailer;
pub mod outbox;
pub mod server;
mod tasks;
pub mod telemetry;
pub mod user_cli;
pub mod webhooks;

pub use app::Application;
pub use config::{Config, Overrides};
