//! What happens to the supervisor screen ([`Action`]) and the work it asks for ([`Effect`]): the
//! plain types below `update` and the files it hands work to (the drill-down, the move dialog).

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::snapshot::Snapshot;
use crate::domain::CallLog;
use crate::store::MoveRequest;
use crate::tui::keys::Command;

#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Command(Command),
    /// The once-a-second clock.
    Tick(DateTime<Utc>),
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
    /// A webhook changed a call somewhere: the day's numbers moved.
    CallsChanged,
    /// A read finished (the error in words).
    SnapshotLoaded {
        result: Result<Box<Snapshot>, String>,
        at: DateTime<Utc>,
    },
    /// A page of an agent's calls today, read after the call `before` (`None`: the first page).
    CallsLoaded {
        caller: i64,
        before: Option<i64>,
        result: Result<CallsPage, String>,
    },
    /// A move finished: what it did in words, or why it was refused (nothing moved).
    DriversMoved {
        result: Result<String, String>,
    },
}

/// A page of an agent's calls, newest first; the first page says how many there are today.
#[derive(Debug, Clone, PartialEq)]
pub struct CallsPage {
    pub calls: Vec<CallLog>,
    pub total: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Read a snapshot; `previous` lends its totals while they are fresh (`totals_at: None`
    /// forces them to be read).
    LoadSnapshot { previous: Box<Snapshot> },
    /// Read a page of `caller`'s calls created since `from`, older than the call `before`.
    LoadCalls { caller: i64, from: DateTime<Utc>, before: Option<i64> },
    /// Move drivers (`from` and `to` name the agents for the words that say what happened).
    MoveDrivers { req: MoveRequest, from: String, to: String },
}

/// Calls read per page of the drill-down.
pub const CALLS_PAGE: u32 = 50;
