//! The non-interactive subcommands: driver import, log export, callers, API tokens and call
//! recordings.

pub mod export;
pub mod import;
pub mod recording;
pub mod session;
pub mod tokens;
