//! The wrap-up: opening the form when a call ends (or the agent says so), typing into it, saving
//! it, and what follows a save (the next wrap-up, or "save and call next").
//!
//! Focus rules, so no key sequence changes a picked outcome or drops typed text unseen: while a
//! text field has focus every printable key is text; letters pick outcomes only in the outcome
//! list, and only while none is chosen — once one is, typing there goes on into the remarks
//! (Alt+letter, or ↑↓ and Space, change the choice from anywhere / the list).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::action::Effect;
use super::dialing::dial_guard;
use super::keys::Command;
use super::lists::refresh_queue_in_place;
use super::state::{App, FeedbackForm, Field, LiveCall, Modal, Screen};
use crate::dialer::CallKind;
use crate::domain::feedback::outcome_key;
use crate::domain::text::strip_controls;
use crate::domain::wrapup::stored_remarks;
use crate::domain::{CallLog, CallStatus, FeedbackCatalog, FeedbackGroup, QueueDecision};
use crate::store::{FeedbackDraft, SubmitFeedback};

/// A key the key table did not claim, typed into the form.
pub(super) fn on_form_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let catalog = app.catalog.clone();
    let Some(f) = app.form_mut() else { return vec![] };
    if let (KeyCode::Char(c), KeyModifiers::ALT) = (key.code, key.modifiers) {
        pick_by_key(f, &catalog, c);
        return vec![];
    }
    match f.focus {
        Field::Outcome => on_list_key(f, &catalog, key),
        Field::Remarks => {
            let max = f.remarks_max();
            type_into(f, key, |f| &mut f.remarks, Some(max));
        }
        Field::Duration => {
            if std::mem::take(&mut f.duration_guessed) && printable(&key).is_some() {
                // Typing a number replaces calldesk's guess rather than adding digits to it.
                f.duration = Input::default();
            }
            type_into(f, key, |f| &mut f.duration, None);
        }
    }
    vec![]
}

fn printable(key: &KeyEvent) -> Option<char> {
    match (key.code, key.modifiers) {
        (KeyCode::Char(c), KeyModifiers::NONE | KeyModifiers::SHIFT) => Some(c),
        _ => None,
    }
}

fn on_list_key(f: &mut FeedbackForm, catalog: &FeedbackCatalog, key: KeyEvent) {
    let Some(c) = printable(&key) else { return };
    if f.chosen.is_some() {
        // An outcome is chosen: what follows is the remarks, not another pick.
        f.focus = Field::Remarks;
        let max = f.remarks_max();
        type_into(f, key, |f| &mut f.remarks, Some(max));
        return;
    }
    if c.is_ascii_lowercase() {
        pick_by_key(f, catalog, c);
        return;
    }
    // A capital, a digit or punctuation is the start of a sentence, not an outcome key: it goes
    // to the remarks, and the save asks for an outcome.
    f.focus = Field::Remarks;
    let max = f.remarks_max();
    type_into(f, key, |f| &mut f.remarks, Some(max));
    f.error =
        Some(format!("Typing in the remarks. Pick an outcome too: Shift+Tab, then a letter a–{}.", last_key(catalog)));
}

/// Edits one text field with `key`, keeping it within `max` characters.
fn type_into(f: &mut FeedbackForm, key: KeyEvent, field: fn(&mut FeedbackForm) -> &mut Input, max: Option<usize>) {
    let Some(req) = to_input_request(&crossterm::event::Event::Key(key)) else { return };
    let input = field(f);
    let before = input.clone();
    input.handle(req);
    if max.is_some_and(|m| input.value().chars().count() > m) {
        *input = before;
        f.error = Some(format!("Remarks are limited to {} characters here.", max.unwrap_or_default()));
        return;
    }
    if before.value() != field(f).value() {
        f.dirty = true;
        f.error = None;
    }
}

pub(super) fn last_key(catalog: &FeedbackCatalog) -> char {
    (0..catalog.all().len()).rev().find_map(outcome_key).unwrap_or('a')
}

fn pick_by_key(f: &mut FeedbackForm, catalog: &FeedbackCatalog, c: char) {
    match catalog.by_key(c.to_ascii_lowercase()) {
        Some((i, _)) => choose(f, catalog, i),
        None => f.error = Some(format!("No outcome on key {c:?}; use a–{}.", last_key(catalog))),
    }
}

/// Chooses the `index`-th outcome if it fits the call; otherwise says why and keeps the choice.
pub(super) fn choose(f: &mut FeedbackForm, catalog: &FeedbackCatalog, index: usize) {
    f.cursor = index;
    if let Some(why) = f.refusal(catalog, index) {
        let label = catalog.all().get(index).map_or("", |o| o.label.as_str());
        f.error = Some(format!("\"{label}\" does not fit: {why}."));
        return;
    }
    f.chosen = Some(index);
    f.preselected = false;
    f.error = None;
    f.dirty = true;
}

/// ↑↓ in the outcome list move the highlight (in display order); elsewhere they do nothing.
pub(super) fn move_highlight(app: &mut App, cmd: Command) -> Vec<Effect> {
    let order = app.catalog.display_order();
    let Some(f) = app.form_mut().filter(|f| f.focus == Field::Outcome) else { return vec![] };
    let n = order.len().max(1);
    let at = order.iter().position(|i| *i == f.cursor).unwrap_or(0);
    let next = match cmd {
        Command::SelectNext => (at + 1) % n,
        Command::SelectPrev => (at + n - 1) % n,
        Command::First => 0,
        Command::Last => n - 1,
        _ => at,
    };
    f.cursor = order.get(next).copied().unwrap_or(0);
    vec![]
}

/// The form's own commands: save, save and call next, Tab / Shift+Tab, Space and Delete.
pub(super) fn on_form_command(app: &mut App, cmd: Command) -> Vec<Effect> {
    let catalog = app.catalog.clone();
    let Some(f) = app.form_mut() else { return vec![] };
    match cmd {
        Command::SaveFeedback => save(app, false),
        Command::SaveAndCallNext => save(app, true),
        Command::PickHighlighted => {
            let i = f.cursor;
            choose(f, &catalog, i);
            vec![]
        }
        Command::PickDoNotCall => {
            match catalog.do_not_call() {
                Some((i, _)) => choose(f, &catalog, i),
                None => f.error = Some("There is no do-not-call outcome here.".into()),
            }
            vec![]
        }
        Command::ClearOutcome => {
            f.chosen = None;
            f.preselected = false;
            f.dirty = true;
            vec![]
        }
        _ => {
            let order = f.fields();
            let i = order.iter().position(|x| *x == f.focus).unwrap_or(0);
            let n = order.len();
            f.focus = order[if cmd == Command::NextField { (i + 1) % n } else { (i + n - 1) % n }];
            vec![]
        }
    }
}

/// Puts the form among the waiting wrap-ups (first), with what was typed.
pub(super) fn keep_aside(app: &mut App, f: &FeedbackForm, draft: FeedbackDraft) {
    match app.wrapups.iter_mut().find(|(c, _)| c.id == f.call.id) {
        Some(w) => *w = (f.call.clone(), Some(draft)),
        None => app.wrapups.push_front((f.call.clone(), Some(draft))),
    }
}

pub(super) fn end_call(app: &mut App) -> Vec<Effect> {
    if app.form().is_some() {
        return vec![];
    }
    let Some(live) = app.live.clone() else {
        if app.wrapups.is_empty() {
            app.info("No call in progress.");
            return vec![];
        }
        return open_next_wrapup(app);
    };
    if live.call.feedback.as_deref().is_some_and(|f| !f.is_empty()) {
        app.info("That call's outcome is already saved.");
        return vec![];
    }
    if live.call.is_unconfirmed() {
        app.error(UNCONFIRMED_WAIT);
        return vec![];
    }
    let draft = app.wrapups.iter().find(|(c, _)| c.id == live.call.id).and_then(|(_, d)| d.clone());
    let elapsed = (app.now - live.call.created_at).num_seconds().max(0);
    let id = live.call.id;
    let mut form = FeedbackForm::new(live.call, draft.as_ref(), &app.catalog, Some(elapsed));
    form.learn(live.end, &app.catalog);
    app.modal = Some(Modal::Feedback(Box::new(form)));
    vec![Effect::LoadFacts(id)]
}

/// Opens the oldest waiting wrap-up (if no form is open) and asks how its call ended.
pub(super) fn open_next_wrapup(app: &mut App) -> Vec<Effect> {
    if app.form().is_some() {
        return vec![];
    }
    let Some((call, draft)) = app.wrapups.front().cloned() else { return vec![] };
    let id = call.id;
    let form = FeedbackForm::new(call, draft.as_ref(), &app.catalog, None);
    app.modal = Some(Modal::Feedback(Box::new(form)));
    vec![Effect::LoadFacts(id)]
}

pub(super) fn on_call_updated(app: &mut App, u: crate::bus::CallUpdate) -> Vec<Effect> {
    if let Some(id) = u.event_id
        && !app.seen_events.insert(id)
    {
        // Already shown: this console's own listener told us first, the feed repeats it.
        return vec![];
    }
    if u.source == "webhook" || u.source == "reconcile" {
        app.last_webhook = Some(app.now);
    }
    if u.call.caller_id != Some(app.me.caller_id) {
        return vec![];
    }
    if app.elsewhere.as_ref().is_some_and(|c| c.id == u.call.id) {
        // Waiting for a dialog to close: kept as it is now (ended, it is not shown as live).
        app.elsewhere = Some(u.call.clone());
    }
    let mut fx = Vec::new();
    if let Some(l) = app.live.as_mut().filter(|l| l.call.id == u.call.id) {
        l.call = u.call.clone();
        fx.push(Effect::LoadTimeline(u.call.id));
        fx.push(Effect::LoadFacts(u.call.id));
    } else if u.source != "dial" && !app.dialing && shows_elsewhere(app, &u.call) {
        // A TeleCMI call of this agent's placed elsewhere (another console of theirs, the old app
        // through the API): its first webhook shows it as their live call, as the refresh would
        // (which waits up to 30 s). Never while this console dials: its dialer announces the row
        // before TeleCMI has taken the call, and a fast webhook may beat the dial's answer; the
        // dial's outcome decides what the live pane shows.
        if app.modal.is_none() {
            fx.extend(adopt(app, u.call.clone()));
        } else {
            app.elsewhere = Some(u.call.clone());
        }
    }
    let ended = u.call.call_status().is_final();
    let needs_feedback = u.call.feedback.as_deref().is_none_or(str::is_empty);
    if ended {
        app.remember(&u.call);
    }
    if ended && needs_feedback && u.source != "feedback" && u.source != "dial" {
        fx.extend(wrapup_for_ended(app, u.call));
    }
    fx
}

/// Whether `call` (this agent's) is live and to be shown as their live call: this console shows
/// none, and it is not abandoned (older than the refresh's 2 hours).
pub(super) fn shows_elsewhere(app: &App, call: &CallLog) -> bool {
    call.call_status().is_live()
        && app.now - call.created_at < crate::store::ABANDONED_AFTER
        && app.live.as_ref().is_none_or(|l| !l.call.call_status().is_live())
}

/// Shows `call` as the agent's live call.
pub(super) fn adopt(app: &mut App, call: CallLog) -> Vec<Effect> {
    let id = call.id;
    app.elsewhere = None;
    app.live = Some(LiveCall::new(call.clone(), CallKind::of(&call)));
    vec![Effect::LoadTimeline(id), Effect::LoadFacts(id)]
}

/// A call ended without an outcome: update its form or waiting wrap-up, or open one.
fn wrapup_for_ended(app: &mut App, call: CallLog) -> Vec<Effect> {
    let id = call.id;
    if let Some(f) = app.form_mut().filter(|f| f.call.id == id) {
        // A later report (leg B's talk time) for the form on screen.
        f.call = call;
        return vec![Effect::LoadFacts(id)];
    }
    if let Some(w) = app.wrapups.iter_mut().find(|(c, _)| c.id == id) {
        // Already waiting (perhaps put aside on purpose): keep it there, up to date.
        w.0 = call;
        return vec![];
    }
    let name = strip_controls(call.driver_name.as_deref().unwrap_or(""));
    let status = call.call_status();
    if matches!(app.modal, None | Some(Modal::Help)) {
        app.modal = None;
        app.wrapups.push_front((call, None));
        app.info(format!("Call to {name} {status}: record the outcome."));
        return open_next_wrapup(app);
    }
    app.wrapups.push_back((call, None));
    app.info(format!("Call to {name} {status}: its wrap-up waits (w)."));
    vec![]
}

/// Checks the form and asks to store it; nothing is sent while anything is missing or wrong.
pub(super) fn save(app: &mut App, call_next: bool) -> Vec<Effect> {
    let catalog = app.catalog.clone();
    let app_now = app.now;
    let Some(f) = app.form_mut().filter(|f| !f.saving) else { return vec![] };
    let now = app_now;
    let feedback = match checked(f, &catalog, now) {
        Ok(s) => s,
        Err((why, field)) => {
            f.error = Some(why);
            f.focus = field;
            return vec![];
        }
    };
    f.saving = true;
    f.error = None;
    vec![Effect::Submit { feedback, call_next }]
}

/// The row to store, or why not and which field to fix.
const UNCONFIRMED_WAIT: &str = "TeleCMI has not confirmed this call: its reports will settle it. If your phone \
     did not ring, press n (after a minute) to mark it not placed.";

fn checked(
    f: &FeedbackForm,
    catalog: &FeedbackCatalog,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SubmitFeedback, (String, Field)> {
    if f.call.is_unconfirmed() {
        return Err((UNCONFIRMED_WAIT.into(), f.focus));
    }
    let Some((index, option)) = f.chosen.and_then(|i| catalog.all().get(i).map(|o| (i, o))) else {
        let why = format!("Pick an outcome first: its letter (a–{}), or ↑↓ and Space.", last_key(catalog));
        return Err((why, Field::Outcome));
    };
    if let Some(why) = f.refusal(catalog, index) {
        return Err((format!("\"{}\" does not fit: {why}. Pick another outcome.", option.label), Field::Outcome));
    }
    let duration = if f.manual {
        match f.duration.value().trim().parse::<i64>() {
            Ok(d) if d > (now - f.call.created_at).num_seconds() + 60 => {
                let since = (now - f.call.created_at).num_seconds().max(0);
                let why = format!("{d} s is longer than the {since} s since you dialed: check the duration.");
                return Err((why, Field::Duration));
            }
            Ok(d) if (0..=86_400).contains(&d) => Some(d),
            _ => return Err(("Duration must be a number of seconds (0–86400).".into(), Field::Duration)),
        }
    } else {
        None
    };
    let status = if f.call.call_status().is_final() && !f.manual {
        None
    } else {
        Some(match option.group {
            FeedbackGroup::NotConnected => CallStatus::Missed,
            FeedbackGroup::Connected | FeedbackGroup::CallBackLater | FeedbackGroup::DoNotCall => CallStatus::Completed,
        })
    };
    Ok(SubmitFeedback {
        call_id: f.call.id,
        status,
        feedback: option.label.clone(),
        remarks: stored_remarks(f.end, f.remarks.value()),
        call_duration: duration,
    })
}

/// The call's outcome stands in the database: its form, wrap-up and live pane go.
fn settle_wrapup(app: &mut App, call: &CallLog) {
    if app.form().is_some_and(|f| f.call.id == call.id) {
        app.modal = None;
    }
    app.wrapups.retain(|(c, _)| c.id != call.id);
    if app.live.as_ref().is_some_and(|l| l.call.id == call.id) {
        app.live = None;
    }
    app.remember(call);
}

pub(super) fn on_saved(app: &mut App, call: CallLog, decision: QueueDecision, call_next: bool) -> Vec<Effect> {
    settle_wrapup(app, &call);
    app.free_since = Some(app.now);
    app.info(saved_message(app, &call, decision));
    let mut fx = refresh_queue_in_place(app);
    if !app.wrapups.is_empty() {
        // Unfinished wrap-ups come before new calls.
        fx.extend(open_next_wrapup(app));
    } else if call_next {
        match dial_guard(app) {
            Some(why) => app.error(format!("Saved, but not calling the next driver: {why}")),
            None => app.pending_call_next = true,
        }
    }
    if app.screen == Screen::Stats {
        fx.push(Effect::LoadStats);
    }
    fx
}

/// The form's outcome was refused because another console of this agent saved the call's
/// outcome first: the form and the wrap-up go, and the agent is told what stands.
pub(super) fn on_already_saved(app: &mut App, call: CallLog) -> Vec<Effect> {
    settle_wrapup(app, &call);
    let name = strip_controls(call.driver_name.as_deref().unwrap_or("this driver"));
    let saved = strip_controls(call.feedback.as_deref().unwrap_or(""));
    app.error(format!(
        "Not saved: the call to {name} already has the outcome \"{saved}\", saved from another console. It stays as saved."
    ));
    let mut fx = refresh_queue_in_place(app);
    if !app.wrapups.is_empty() {
        fx.extend(open_next_wrapup(app));
    }
    fx
}

fn saved_message(app: &App, call: &CallLog, decision: QueueDecision) -> String {
    let name = strip_controls(call.driver_name.as_deref().unwrap_or(""));
    let feedback = call.feedback.clone().unwrap_or_default();
    if app.catalog.effect(&feedback, None) == crate::domain::QueueEffect::DoNotCall {
        let number = call
            .driver_mobile
            .as_deref()
            .map(|m| format!(" ({})", crate::domain::phone::readable(m)))
            .unwrap_or_default();
        return format!(
            "Saved \"{feedback}\": {name}'s number{number} is on the do-not-call list and {name} left the queue for good."
        );
    }
    let effect = match decision {
        QueueDecision::Remove => format!("{name} left the queue"),
        QueueDecision::Requeue { due_at, .. } if (due_at - app.now).num_seconds() < 60 => {
            format!("{name} stays first in the queue")
        }
        QueueDecision::Requeue { due_at, callback } => {
            let when = super::views::when(due_at, app.now, app.tz);
            let when = if when.len() == 5 { format!("today {when}") } else { when };
            // A time the calling window moved (it opens then, and was closed a moment before).
            let zone = app.queue.rows.iter().find(|e| Some(&e.driver_id) == call.driver_id.as_ref());
            let zone = zone.and_then(|e| e.timezone.as_deref());
            let schedule = &app.catalog.schedule;
            let moved = !schedule.hours.is_always()
                && schedule.check(due_at - chrono::Duration::seconds(1), zone).is_err()
                && schedule.check(due_at, zone).is_ok();
            let why = if moved { " (when their calling window opens)" } else { "" };
            if callback {
                format!("callback for {name} due {when}{why}")
            } else {
                format!("{name} will be retried {when}{why}")
            }
        }
    };
    format!("Saved \"{feedback}\": {effect}.")
}
