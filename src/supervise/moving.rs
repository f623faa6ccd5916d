//! The move dialog: from the selected agent to another (chosen with the arrows), how many (typed;
//! empty for every driver that may move), Enter moves by the rules of `calldesk assign` and the
//! dialog says what moved and why the rest stayed; a refused or failed move keeps the choice.

use crossterm::event::{KeyCode, KeyEvent};

use super::action::Effect;
use super::board::{parse_count, type_digit};
use super::state::{MoveDialog, SuperView};
use crate::domain::text::strip_controls;
use crate::store::{Caller, MoveRequest};
use crate::tui::keys::Command;

/// How a caller is named in the dialog and its words: `Pooja (3)`.
pub fn label(c: &Caller) -> String {
    format!("{} ({})", strip_controls(&c.name), c.id)
}

/// Opens the dialog for the agent whose calls are open, else the selected one.
pub fn open(v: &mut SuperView) -> Vec<Effect> {
    let from = match &v.drill {
        Some(d) => Some(d.agent.clone()),
        None => v.snapshot.agents.iter().find(|a| Some(a.caller.id) == v.selected).map(|a| a.caller.clone()),
    };
    let Some(from) = from else { return vec![] };
    let mut targets: Vec<Caller> =
        v.snapshot.agents.iter().map(|a| a.caller.clone()).filter(|c| c.id != from.id).collect();
    targets.sort_by_cached_key(|c| (c.name.to_lowercase(), c.id));
    v.dialog = Some(MoveDialog { from, targets, pick: 0, count: String::new(), moving: false, outcome: None });
    vec![]
}

/// A command while the dialog is open.
pub fn on_command(v: &mut SuperView, cmd: Command) -> Vec<Effect> {
    let me = v.me;
    let Some(d) = v.dialog.as_mut() else { return vec![] };
    if d.moving {
        // The write is under way: its answer is what comes next.
        return vec![];
    }
    match cmd {
        Command::Close => v.dialog = None,
        Command::SelectNext | Command::SelectPrev => {
            let last = d.targets.len().saturating_sub(1);
            d.pick = if cmd == Command::SelectNext { (d.pick + 1).min(last) } else { d.pick.saturating_sub(1) };
            d.outcome = None;
        }
        Command::Confirm if matches!(d.outcome, Some(Ok(_))) => v.dialog = None,
        Command::Confirm => return confirm(d, me),
        _ => {}
    }
    vec![]
}

fn confirm(d: &mut MoveDialog, me: i64) -> Vec<Effect> {
    let Some(to) = d.targets.get(d.pick) else {
        d.outcome = Some(Err("There is no other agent to move drivers to.".into()));
        return vec![];
    };
    let count = match parse_count(&d.count) {
        Ok(n) => n,
        Err(e) => {
            d.outcome = Some(Err(e));
            return vec![];
        }
    };
    d.moving = true;
    d.outcome = None;
    let req = MoveRequest { from: d.from.id, to: to.id, count, city: None, by: Some(me) };
    vec![Effect::MoveDrivers { req, from: label(&d.from), to: label(to) }]
}

/// A key the table does not bind: digits type the count, Backspace takes one back.
pub fn on_key(v: &mut SuperView, key: KeyEvent) {
    let Some(d) = v.dialog.as_mut().filter(|d| !d.moving) else { return };
    let typed = match key.code {
        KeyCode::Char(c) => type_digit(&d.count, c),
        KeyCode::Backspace => Some(d.count.chars().take(d.count.chars().count().saturating_sub(1)).collect()),
        _ => None,
    };
    if let Some(t) = typed {
        d.count = t;
        d.outcome = None;
    }
}

/// The move's answer: shown in the dialog; after a move, the board is read again at once.
pub fn on_moved(v: &mut SuperView, result: Result<String, String>) -> bool {
    let moved = result.is_ok();
    match v.dialog.as_mut() {
        Some(d) => {
            d.moving = false;
            d.outcome = Some(result);
        }
        None => {
            if let Err(e) = result {
                v.error = Some(e);
            }
        }
    }
    moved
}
