//! The non-interactive subcommands: driver import, log export, the do-not-call list, callers and
//! API tokens.

pub mod dnc;
pub mod export;
pub mod import;
pub mod session;
pub mod tokens;
