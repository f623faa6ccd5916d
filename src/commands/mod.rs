//! The non-interactive subcommands: driver import, log export, callers and API tokens.

pub mod export;
pub mod import;
pub mod session;
pub mod tokens;
