//! The supervisor console's one pattern, the agent console's: keys, the clock, webhooks and
//! finished reads become [`Action`]s; [`update`] changes the [`SuperView`] (in [`super::state`]) and returns the reads
//! to start as [`Effect`]s; the view draws the state and never awaits.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

pub use super::action::{Action, CallsPage, Effect};
use super::snapshot::Snapshot;
use super::state::SuperView;
use super::{board, drill, help, moving};
use crate::tui::keys::{Command, Context, lookup};

/// After a webhook, totals older than this are read again with the live board.
pub const TOTALS_AFTER_CHANGE: chrono::Duration = chrono::Duration::seconds(2);

/// Applies `action` to the view, returning the reads (and moves) to start.
pub fn update(v: &mut SuperView, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(k) => on_key(v, k),
        Action::Command(c) => on_command(v, c),
        Action::CallsChanged => {
            v.reads.totals_owed = true;
            v.reads.again = true;
            reload(v)
        }
        Action::Tick(now) => {
            v.now = now;
            // A tick during a read is dropped: a slow database gets one read at a time, not a
            // queue of them.
            if !v.reads.loading {
                v.reads.again = true;
            }
            note_stalled_read(v, now);
            reload(v)
        }
        Action::Resize(w, h) => {
            v.size = (w, h);
            v.help_scroll = v.help_scroll.min(help::max_scroll(w, h));
            vec![]
        }
        Action::SnapshotLoaded { result, at } => on_loaded(v, result, at),
        Action::CallsLoaded { caller, before, result } => {
            drill::on_loaded(v, caller, before, result);
            vec![]
        }
        Action::DriversMoved { result } => {
            if moving::on_moved(v, result) {
                // Queue sizes changed: read everything again now.
                v.reads.full_wanted = true;
                v.reads.again = true;
                return reload(v);
            }
            vec![]
        }
    }
}

/// Where the keyboard is: the help, the move dialog, an agent's calls or the board.
fn contexts(v: &SuperView) -> Vec<Context> {
    if v.help {
        vec![Context::Help]
    } else if v.dialog.is_some() {
        vec![Context::MoveDialog]
    } else if v.drill.is_some() {
        vec![Context::AgentCalls, Context::Supervise]
    } else {
        vec![Context::Board, Context::Supervise]
    }
}

fn on_key(v: &mut SuperView, k: KeyEvent) -> Vec<Effect> {
    match lookup(&contexts(v), &k) {
        Some(c) => on_command(v, c),
        None => {
            moving::on_key(v, k);
            vec![]
        }
    }
}

fn on_command(v: &mut SuperView, cmd: Command) -> Vec<Effect> {
    if v.help {
        on_help(v, cmd);
        return vec![];
    }
    if v.dialog.is_some() && cmd != Command::Quit {
        return moving::on_command(v, cmd);
    }
    match cmd {
        Command::Quit => {
            v.reads.quit = true;
            vec![]
        }
        Command::Help => {
            v.help = true;
            v.help_scroll = 0;
            vec![]
        }
        Command::Refresh => {
            v.reads.full_wanted = true;
            v.reads.again = true;
            let mut fx = reload(v);
            fx.extend(drill::reload(v));
            fx
        }
        Command::Close => {
            v.drill = None;
            vec![]
        }
        Command::MoveDrivers => moving::open(v),
        _ if v.drill.is_some() => drill::on_command(v, cmd),
        Command::SelectNext | Command::SelectPrev => {
            let order = board::order(&v.snapshot.agents, v.now, v.alerts);
            let by = if cmd == Command::SelectNext { 1 } else { -1 };
            v.selected = board::step(&v.snapshot.agents, &order, v.selected, by);
            vec![]
        }
        Command::ShowAgentCalls => drill::open(v),
        _ => vec![],
    }
}

/// Keys while the help is open: it scrolls, and closes.
fn on_help(v: &mut SuperView, cmd: Command) {
    let max = help::max_scroll(v.size.0, v.size.1);
    let page = v.size.1.saturating_sub(4).max(1);
    v.help_scroll = match cmd {
        Command::Close | Command::Help => {
            v.help = false;
            0
        }
        Command::SelectNext => v.help_scroll.saturating_add(1),
        Command::SelectPrev => v.help_scroll.saturating_sub(1),
        Command::PageDown => v.help_scroll.saturating_add(page),
        Command::PageUp => v.help_scroll.saturating_sub(page),
        Command::First => 0,
        Command::Last => max,
        _ => v.help_scroll,
    }
    .min(max);
}

/// A read landed: the snapshot (or the error) is shown and the next wanted read starts.
fn on_loaded(v: &mut SuperView, result: Result<Box<Snapshot>, String>, at: DateTime<Utc>) -> Vec<Effect> {
    v.reads.loading = false;
    v.reads.since = None;
    let mut fx = Vec::new();
    match result {
        Ok(s) => {
            // An outcome saved or a call started shows on the board before any webhook
            // says so: the totals owe it too.
            if board(&s) != board(&v.snapshot) && v.snapshot.taken_at.is_some() {
                v.reads.totals_owed = true;
            }
            // The agent whose calls are open made or ended a call: their list is read again.
            if let Some(id) = v.drill.as_ref().map(|d| d.agent.id)
                && agent_board(&s, id) != agent_board(&v.snapshot, id)
            {
                fx = drill::reload(v);
            }
            v.snapshot = *s;
            v.error = None;
            // The selection follows its agent; with none (or gone), the first row.
            let order = board::order(&v.snapshot.agents, at, v.alerts);
            if board::position(&v.snapshot.agents, &order, v.selected).is_none() {
                v.selected = board::step(&v.snapshot.agents, &order, None, 0);
            }
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
    fx.extend(reload(v));
    fx
}

/// Who is in which state on which call, and the live calls' states: what moves the totals.
type Board<'a> = (Vec<(i64, super::snapshot::AgentState, Option<i64>)>, Vec<(i64, Option<&'a str>)>);

fn board(s: &Snapshot) -> Board<'_> {
    (
        s.agents.iter().map(|a| (a.caller.id, a.state, a.current.as_ref().map(|c| c.id))).collect(),
        s.live.iter().map(|c| (c.id, c.status.as_deref())).collect(),
    )
}

/// One agent's part of the board: their state, call, and that call's status.
fn agent_board(s: &Snapshot, id: i64) -> Option<(super::snapshot::AgentState, Option<i64>, Option<&str>)> {
    let a = s.agents.iter().find(|a| a.caller.id == id)?;
    let call = a.current.as_ref();
    Some((a.state, call.map(|c| c.id), call.and_then(|c| c.status.as_deref())))
}

/// Starts the read that is wanted, unless one is running.
fn reload(v: &mut SuperView) -> Vec<Effect> {
    if v.reads.loading || !v.reads.again {
        return vec![];
    }
    v.reads.again = false;
    v.reads.loading = true;
    v.reads.since = Some(v.now);
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

/// A read waiting longer than this says the database is not answering (while it waits).
pub const READ_STALLED: chrono::Duration = chrono::Duration::seconds(5);

/// A read that has waited [`READ_STALLED`] (a paused or unreachable database holds it open and
/// answers nothing, so no error comes): the board says the database is not answering until a
/// read lands.
fn note_stalled_read(v: &mut SuperView, now: DateTime<Utc>) {
    if let Some(since) = v.reads.since.filter(|s| now - *s >= READ_STALLED)
        && v.error.is_none()
    {
        v.error =
            Some(format!("{} (a read has waited {} s)", crate::store::NOT_ANSWERING, (now - since).num_seconds()));
    }
}
