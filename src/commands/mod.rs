//! The non-interactive subcommands: driver import, log export, the do-not-call list, callers, API
//! tokens and call recordings.

pub mod callers;
pub mod dnc;
pub mod export;
pub mod import;
pub mod loadtest;
pub mod recording;
pub mod session;
pub mod tokens;
