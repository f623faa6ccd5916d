//! calldesk — a keyboard-driven terminal calling console for outbound recruitment calling.
//!
//! The layers, lowest first. A module uses only the floors below its own, never one above:
//!
//! 1. [`domain`]: the rules a test states without I/O (phone numbers, forward-only call status,
//!    outcomes and their queue effects, calling hours, wrap-up limits, tokens' shape and hash).
//!    [`config`] beside it: settings from env / `.env` / flags, validated once, secrets redacted.
//! 2. [`store`]: the only place with SQL, one API over SQLite and MySQL/MariaDB; and [`telecmi`]:
//!    the TeleCMI client (click-to-call, CDR lists), webhook parsing, and a simulator.
//! 3. [`coord`]: the coordinators that drive a call's life across those two (the dialer,
//!    reconciliation, the feed of events stored by another process) and the bus that tells the
//!    screens what changed.
//! 4. [`tui`]: the base both screens share — terminal and signal setup, the one key table, column
//!    fitting, widgets and formatters (it knows no screen).
//! 5. The screens and the server: [`console`] (an agent's TUI), [`supervise`] (the supervisor's
//!    board: alerts, an agent's calls, moving drivers), [`server`] (axum: TeleCMI webhooks, `/events`, the old HTTP API).
//! 6. [`commands`]: what each subcommand runs (console and serve sessions, import, export, the
//!    do-not-call list, callers, tokens, recordings, the load test), which `main.rs` dispatches to.
//!
//! [`logging`] (tracing to daily files, never to the terminal) is set up by `main.rs`.

#![forbid(unsafe_code)]

pub mod commands;
pub mod config;
pub mod console;
pub mod coord;
pub mod domain;
pub mod logging;
pub mod server;
pub mod store;
pub mod supervise;
pub mod telecmi;
pub mod tui;
