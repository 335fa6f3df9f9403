//! latchkey's domain rules.
//!
//! Everything here is pure: no IO, no async runtime, and never the clock or
//! the OS random source. Time arrives as a [`Timestamp`] argument and
//! randomness as byte arrays, so every rule is tested at its exact edges.

pub mod assurance;
pub mod csrf;
pub mod id;
pub mod password;
pub mod refresh;
pub mod revocation;
pub mod session;
pub mod throttle;
pub mod time;

pub use assurance::Assurance;
pub use id::{
    ParseError, SessionHandle, SessionSecret, SessionSecretHash, UserId, Username, sha256,
};
pub use password::{Password, PasswordError, PasswordHash, Scratch};
pub use session::{Session, SessionPolicy, SessionStatus};
pub use time::{Clock, ManualClock, Timestamp};
