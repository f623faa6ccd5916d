//! The coordinators: the floor between the store and the TeleCMI client below and the screens and
//! the server above. Each one drives a step of a call's life across them: the [`dialer`] checks
//! the rules, writes the row and asks TeleCMI to ring; [`reconcile`] closes the calls whose final
//! webhook never came; the [`feed`] brings the events another process stored; and the [`bus`]
//! tells every screen (and `/events`) what changed, after the store committed it.
//!
//! Named for the layer rather than a subject: `calls` would read as a twin of `store/calls.rs`.
//! A coordinator may use `domain`, `config`, `store` and `telecmi`, never a screen, the server or
//! a command.

pub mod bus;
pub mod dialer;
pub mod feed;
pub mod outage;
pub mod reconcile;
pub mod session;
