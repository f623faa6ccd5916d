//! The supervisor console's one pattern, the agent console's: keys, the clock, webhooks and
//! finished reads become [`Action`]s; [`update`] changes the [`SuperView`] (in [`super::state`]) and returns the reads
//! to start as [`Effect`]s; the view draws the state and never awaits.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::snapshot::Snapshot;
use super::state::SuperView;
use crate::tui::keys::{Command, Context, lookup};

#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Command(Command),
    /// The once-a-second clock.
    Tick(DateTime<Utc>),
    /// A webhook changed a call somewhere: the day's numbers moved.
    CallsChanged,
    /// A read finished (the error in words).
    SnapshotLoaded {
        result: Result<Box<Snapshot>, String>,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Read a snapshot; `previous` lends its totals while they are fresh (`totals_at: None`
    /// forces them to be read).
    LoadSnapshot { previous: Box<Snapshot> },
}

/// After a webhook, totals older than this are read again with the live board.
pub const TOTALS_AFTER_CHANGE: chrono::Duration = chrono::Duration::seconds(2);

/// Applies `action` to the view, returning the reads to start.
pub fn update(v: &mut SuperView, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(k) => lookup(&[Context::Supervise], &k).map(|c| update(v, Action::Command(c))).unwrap_or_default(),
        Action::Command(Command::Quit) => {
            v.reads.quit = true;
            vec![]
        }
        Action::Command(Command::Help) => {
            v.help = !v.help;
            vec![]
        }
        Action::Command(Command::Close) => {
            v.help = false;
            vec![]
        }
        Action::Command(Command::Refresh) => {
            v.reads.full_wanted = true;
            v.reads.again = true;
            reload(v)
        }
        Action::CallsChanged => {
            v.reads.totals_owed = true;
            v.reads.again = true;
            reload(v)
        }
        Action::Command(_) => vec![],
        Action::Tick(now) => {
            v.now = now;
            // A tick during a read is dropped: a slow database gets one read at a time, not a
            // queue of them.
            if !v.reads.loading {
                v.reads.again = true;
            }
            reload(v)
        }
        Action::SnapshotLoaded { result, at } => on_loaded(v, result, at),
    }
}

/// A read landed: the snapshot (or the error) is shown and the next wanted read starts.
fn on_loaded(v: &mut SuperView, result: Result<Box<Snapshot>, String>, at: DateTime<Utc>) -> Vec<Effect> {
    v.reads.loading = false;
    match result {
        Ok(s) => {
            // An outcome saved or a call started shows on the board before any webhook
            // says so: the totals owe it too.
            if board(&s) != board(&v.snapshot) && v.snapshot.taken_at.is_some() {
                v.reads.totals_owed = true;
            }
            v.snapshot = *s;
            v.error = None;
        }
        Err(e) => {
            v.error = Some(e);
            // What the failed read was to bring is still owed: the next read tries again.
            if std::mem::take(&mut v.reads.reading_totals) {
                v.reads.full_wanted = true;
            }
        }
    }
    v.reads.reading_totals = false;
    v.now = at;
    reload(v)
}

/// Who is in which state on which call, and the live calls' states: what moves the totals.
type Board<'a> = (Vec<(i64, super::snapshot::AgentState, Option<i64>)>, Vec<(i64, Option<&'a str>)>);

fn board(s: &Snapshot) -> Board<'_> {
    (
        s.agents.iter().map(|a| (a.caller.id, a.state, a.current.as_ref().map(|c| c.id))).collect(),
        s.live.iter().map(|c| (c.id, c.status.as_deref())).collect(),
    )
}

/// Starts the read that is wanted, unless one is running.
fn reload(v: &mut SuperView) -> Vec<Effect> {
    if v.reads.loading || !v.reads.again {
        return vec![];
    }
    v.reads.again = false;
    v.reads.loading = true;
    let stale = v.snapshot.totals_at.is_none_or(|t| v.now - t >= TOTALS_AFTER_CHANGE);
    let totals = std::mem::take(&mut v.reads.full_wanted) || (v.reads.totals_owed && stale);
    let mut previous = v.snapshot.clone();
    if totals {
        v.reads.totals_owed = false;
        previous.totals_at = None;
    }
    v.reads.reading_totals = totals;
    vec![Effect::LoadSnapshot { previous: Box::new(previous) }]
}
