//! The supervisor console's one pattern, the agent console's: keys, the clock, webhooks and
//! finished reads become [`Action`]s; [`update`] changes the [`SuperView`] and returns the reads
//! to start as [`Effect`]s; the view draws the state and never awaits.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::snapshot::Snapshot;
use super::view::SuperView;
use crate::console::keys::{Command, Context, lookup};

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
    /// Read a snapshot; `previous` lends its totals while they are fresh (an empty one forces a
    /// full read).
    LoadSnapshot { previous: Box<Snapshot> },
}

/// Where the reads are: one at a time, and a webhook (or `r`) during a read is not dropped — it
/// asks for a full read (totals included) as soon as the current one lands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    pub loading: bool,
    pub full_wanted: bool,
    pub quit: bool,
}

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
        Action::Command(Command::Refresh) | Action::CallsChanged => {
            v.reads.full_wanted = true;
            reload(v)
        }
        Action::Command(_) => vec![],
        Action::Tick(now) => {
            v.now = now;
            reload(v)
        }
        Action::SnapshotLoaded { result, at } => {
            v.reads.loading = false;
            match result {
                Ok(s) => {
                    v.snapshot = *s;
                    v.error = None;
                }
                Err(e) => v.error = Some(e),
            }
            v.now = at;
            if v.reads.full_wanted { reload(v) } else { vec![] }
        }
    }
}

fn reload(v: &mut SuperView) -> Vec<Effect> {
    if v.reads.loading {
        return vec![];
    }
    v.reads.loading = true;
    let previous = if std::mem::take(&mut v.reads.full_wanted) { Snapshot::default() } else { v.snapshot.clone() };
    vec![Effect::LoadSnapshot { previous: Box::new(previous) }]
}
