//! The latchkey binary's library half: configuration, the application
//! factory used by `main` and by the end-to-end tests alike, the HTTP
//! server loop, telemetry, and the CLI subcommands.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod fdlimit;
pub mod mailer;
pub mod server;
pub mod telemetry;

pub use app::Application;
pub use config::{Config, Overrides};
