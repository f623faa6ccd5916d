//! Breaks: `b` opens the reason picker (or, on a break, returns to ready); each change is stored
//! with its time through an effect; a restart resumes the stored state.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Effect;
use super::state::{App, BreakPicker, Modal, PresenceNow};
use crate::domain::presence::{BREAK_REASONS, reason_keys};
use crate::domain::{Presence, PresenceChange};
use crate::tui::keys::{self, Command, Context};

/// `b`: a break picker when ready, back to ready when on a break.
pub(super) fn toggle(app: &mut App) -> Vec<Effect> {
    if matches!(app.presence.presence, Presence::Break(_)) {
        return change(app, Presence::Ready);
    }
    if app.live.as_ref().is_some_and(super::state::LiveCall::in_progress) || app.dialing {
        app.info("A call is in progress: take the break when it ends.");
        return vec![];
    }
    app.modal = Some(Modal::Break(BreakPicker { cursor: 0 }));
    vec![]
}

/// Arrows, Enter and Esc in the picker.
pub(super) fn on_picker_command(app: &mut App, cmd: Command) -> Vec<Effect> {
    let Some(Modal::Break(p)) = &mut app.modal else { return vec![] };
    let n = BREAK_REASONS.len();
    match cmd {
        Command::SelectNext => p.cursor = (p.cursor + 1) % n,
        Command::SelectPrev => p.cursor = (p.cursor + n - 1) % n,
        Command::Confirm => {
            let i = p.cursor;
            return pick(app, i);
        }
        _ => app.modal = None,
    }
    vec![]
}

/// A reason's letter in the picker.
pub(super) fn on_picker_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let KeyCode::Char(c) = key.code else { return vec![] };
    if !(key.modifiers - KeyModifiers::SHIFT).is_empty() {
        return vec![];
    }
    let c = c.to_ascii_lowercase();
    match reason_keys(BREAK_REASONS).iter().position(|k| *k == Some(c)) {
        Some(i) => pick(app, i),
        None => vec![],
    }
}

fn pick(app: &mut App, i: usize) -> Vec<Effect> {
    app.modal = None;
    let reason = BREAK_REASONS.get(i).copied().unwrap_or("break");
    change(app, Presence::Break(reason.to_string()))
}

fn change(app: &mut App, presence: Presence) -> Vec<Effect> {
    let at = app.now;
    app.info(match &presence {
        Presence::Ready => "Ready: calls can be placed again.".to_string(),
        Presence::Break(r) => {
            let b = keys::key(Context::Global, Command::ToggleBreak);
            format!("On break ({r}). Calls are paused; press {b} to return to ready.")
        }
    });
    app.presence = PresenceNow { presence: presence.clone(), since: at };
    vec![Effect::SavePresence { presence, at }]
}

/// The stored state at start-up: a break taken before a restart goes on.
pub(super) fn on_loaded(app: &mut App, stored: Option<PresenceChange>) -> Vec<Effect> {
    if let Some(c) = stored {
        app.presence = PresenceNow { presence: c.presence, since: c.since };
    }
    vec![]
}

/// Why no call may start now because of a break, in words.
pub(super) fn refusal(app: &App) -> Option<String> {
    let Presence::Break(reason) = &app.presence.presence else { return None };
    let since = app.presence.since.with_timezone(&app.tz).format("%H:%M");
    let b = keys::key(Context::Global, Command::ToggleBreak);
    Some(format!("You are on break ({reason}, since {since}): press {b} to return to ready."))
}
