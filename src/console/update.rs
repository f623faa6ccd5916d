//! `update`: the only place the console's state changes. Pure: no awaiting, no I/O; slow work is
//! returned as [`Effect`]s for the runner. Keys become commands here (`on_key`); what each
//! command does lives in `commands`, the results of effects in `results`.

use chrono::Utc;
use crossterm::event::KeyEvent;

use super::action::{Action, Effect};
use super::commands::on_command;
use super::form_keys::on_form_key;
use super::lists::clamp_offsets;
use super::results;
use super::state::{App, Field, Modal, Screen, UNASKED_GRACE};
use super::wrapup::on_call_updated;
use crate::tui::keys::{Command, Context, lookup, pressed};

pub use super::lists::PAGE;

/// Screen lines that are not list rows: status bar, notice, footer, borders, header.
const CHROME_ROWS: u16 = 6;

/// Applies `action` to `app`, returning the slow work to start.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    let mut fx = apply(app, action);
    if !app.quit {
        // A wrap-up waiting to open by itself opens as soon as nothing is in the way.
        fx.extend(super::wrapup::auto_open(app));
    }
    fx
}

fn apply(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(key) => on_key(app, key),
        Action::Command(cmd) => on_command(app, cmd),
        Action::Tick(now) => on_tick(app, now),
        Action::Clock(now) => {
            app.now = forward(app.now, now);
            vec![]
        }
        Action::Resize { width, height } => {
            app.size = (width, height);
            app.page_rows = usize::from(height.saturating_sub(CHROME_ROWS).max(1));
            clamp_offsets(app);
            vec![]
        }
        Action::Signal(name) => {
            tracing::info!("console stopping on {name}");
            app.ending = Some(crate::tui::terminal::Ending::Signal(name));
            on_signal(app)
        }
        Action::SignedInElsewhere(words) => {
            tracing::info!("console taken over by a newer login");
            app.ending = Some(crate::tui::terminal::Ending::TakenOver(words));
            on_signal(app)
        }
        Action::CallUpdated(u) => {
            // A call of ours that just ended moves today's numbers (a connect counts now).
            let ended = u.call.caller_id == Some(app.me.caller_id) && u.call.call_status().is_final();
            let mut fx = on_call_updated(app, *u);
            if ended && !fx.is_empty() && !fx.contains(&Effect::LoadProgress) {
                fx.push(Effect::LoadProgress);
            }
            fx
        }
        Action::PresenceLoaded(stored) => super::breaks::on_loaded(app, stored),
        Action::ProgressLoaded(p) => {
            app.progress = Some(p);
            app.read_landed();
            vec![]
        }
        other => {
            // A new call or a saved outcome moves today's numbers.
            let progressed = matches!(other, Action::CallPlaced { .. } | Action::FeedbackSaved { .. });
            let mut fx = results::on_result(app, other);
            if progressed {
                fx.push(Effect::LoadProgress);
            }
            fx
        }
    }
}

/// SIGTERM, SIGHUP or SIGINT: quit at once, writing the draft of an open wrap-up first.
fn on_signal(app: &mut App) -> Vec<Effect> {
    app.quit = true;
    let caller = app.me.caller_id;
    let catalog = app.catalog.clone();
    app.form().map(|f| vec![Effect::SaveDraft(f.draft(caller, &catalog))]).unwrap_or_default()
}

fn on_tick(app: &mut App, now: chrono::DateTime<Utc>) -> Vec<Effect> {
    let before = app.ticked;
    app.ticked = now;
    app.now = forward(app.now, now);
    let mut fx = Vec::new();
    let caller = app.me.caller_id;
    let catalog = app.catalog.clone();
    if let Some(f) = app.form_mut().filter(|f| f.dirty && !f.saving) {
        f.dirty = false;
        fx.push(Effect::SaveDraft(f.draft(caller, &catalog)));
    }
    // Saves waiting for the database whose pause is over.
    fx.extend(super::save_retry::retry_due(app));
    // A call placed elsewhere that came while a dialog was open, now that it is closed.
    if app.modal.is_none()
        && !app.dialing
        && let Some(call) = app.elsewhere.take()
        && super::wrapup::shows_elsewhere(app, &call)
    {
        fx.extend(super::wrapup::adopt(app, call));
    }
    // Callbacks fall due as time passes, and a console that missed an event (a lagging feed, a
    // database that was away) catches up: look again every half minute.
    if now.timestamp() / 30 != before.timestamp() / 30 && !app.queue.filtering && app.modal.is_none() {
        fx.extend(super::lists::refresh_queue_in_place(app));
        fx.push(Effect::Resync);
        fx.push(Effect::LoadProgress);
    }
    fx
}

/// The contexts whose keys apply now, most specific first.
pub fn contexts(app: &App) -> Vec<Context> {
    match &app.modal {
        Some(Modal::Help) => vec![Context::Help],
        Some(Modal::ConfirmQuit(_)) => vec![Context::ConfirmQuit],
        Some(Modal::CallDialog(_)) => vec![Context::CallDialog],
        Some(Modal::Card(_)) => vec![Context::Card],
        Some(Modal::Prompt(_)) => vec![Context::Prompt],
        Some(Modal::Break(_)) => vec![Context::BreakPicker],
        Some(Modal::Feedback(f)) if f.focus == Field::Outcome => vec![Context::Feedback, Context::FeedbackList],
        Some(Modal::Feedback(_)) => vec![Context::Feedback],
        None if app.queue.filtering => vec![Context::Filter],
        None => match app.screen {
            Screen::Queue => vec![Context::Queue, Context::Global],
            Screen::CallLog => vec![Context::CallLog, Context::Global],
            Screen::Stats => vec![Context::Global],
            Screen::Search if app.search.typing => vec![Context::SearchInput],
            Screen::Search | Screen::Upcoming => vec![Context::Search, Context::Global],
        },
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let cmd = lookup(&contexts(app), &key);
    if cmd != Some(Command::Quit) && ignored_in_first_moment(app, &key) {
        return vec![];
    }
    let mut fx = if let Some(cmd) = cmd {
        on_command(app, cmd)
    } else {
        match &app.modal {
            Some(Modal::Feedback(_)) => on_form_key(app, key),
            Some(Modal::Prompt(_)) => super::driver_fixes::on_prompt_key(app, key),
            Some(Modal::Break(_)) => super::breaks::on_picker_key(app, key),
            None if app.queue.filtering => super::lists::on_filter_key(app, key),
            None if app.screen == Screen::Search && app.search.typing => super::finder::on_search_key(app, key),
            _ => vec![],
        }
    };
    fx.extend(draft_now(app));
    fx
}

/// The clock read at `now`: a reading a moment older than the last (a tick queued before a key's
/// clock) leaves it, but a real step back of the wall clock (NTP, a resumed laptop) is taken,
/// so timers never freeze until the clock catches up.
fn forward(before: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    if now < before - chrono::Duration::seconds(2) { now } else { before.max(now) }
}

/// The most characters of ignored keys a form lists.
const IGNORED_SHOWN: usize = 40;

/// A key that reached a form within [`UNASKED_GRACE`] of it opening by itself was typed for
/// what was on screen before (a `w` for "waiting: w", a second Enter): it is shown as ignored
/// and not taken as a choice.
fn ignored_in_first_moment(app: &mut App, key: &KeyEvent) -> bool {
    let now = app.now;
    let Some(f) = app.form_mut() else { return false };
    let Some(opened) = f.unasked_at else { return false };
    // (A clock stepped back since is no reason to ignore keys.)
    if now - opened >= UNASKED_GRACE || now < opened {
        f.unasked_at = None;
        f.ignored.clear();
        return false;
    }
    let name = pressed(key);
    if !f.ignored.is_empty() {
        f.ignored.push(' ');
    }
    // Said in the form itself: the notice keeps what the last save did. A long run keeps its
    // last keys (the line has one row).
    f.ignored.push_str(&name);
    let n = f.ignored.chars().count();
    if n > IGNORED_SHOWN {
        let tail: String = f.ignored.chars().skip(n - IGNORED_SHOWN).collect();
        f.ignored = format!("…{}", tail.trim_start_matches('…'));
    }
    true
}

/// What was just typed into the wrap-up goes to the draft at once (the writer keeps them in order),
/// so a kill loses nothing typed more than one write ago.
fn draft_now(app: &mut App) -> Option<Effect> {
    let caller = app.me.caller_id;
    let catalog = app.catalog.clone();
    let f = app.form_mut().filter(|f| f.dirty && !f.saving)?;
    f.dirty = false;
    Some(Effect::SaveDraft(f.draft(caller, &catalog)))
}
