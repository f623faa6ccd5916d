//! calldesk — a keyboard-driven terminal calling console for outbound recruitment calling.
//!
//! - [`domain`]: plain types and rules (phone numbers, forward-only call status, feedback outcomes)
//! - [`config`]: settings from env / `.env` / flags, validated, secrets redacted
//! - [`store`]: the only place with SQL — one API over SQLite and MySQL/MariaDB
//! - [`commands`]: the non-interactive subcommands (import, export, callers, tokens)
//! - [`logging`]: tracing to daily-rotated files, never to the terminal

#![forbid(unsafe_code)]

pub mod bus;
pub mod commands;
pub mod config;
pub mod console;
pub mod dialer;
pub mod domain;
pub mod feed;
pub mod logging;
pub mod server;
pub mod store;
pub mod supervise;
pub mod telecmi;
pub mod tui;
