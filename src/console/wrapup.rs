//! The wrap-up: opening the form when a call ends (or the agent says so), typing into it, saving
//! it, and what follows a save (the next wrap-up, or "save and call next").

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::to_input_request;

use super::action::Effect;
use super::keys::{Context, lookup};
use super::lists::refresh_queue_in_place;
use super::state::{App, CallDialog, FeedbackForm, Field, Modal, REMARKS_MAX, Screen};
use super::update::{dial, on_command};
use crate::dialer::CallKind;
use crate::domain::text::strip_controls;
use crate::domain::{CallStatus, FeedbackGroup, QueueDecision};
use crate::store::SubmitFeedback;

pub(super) fn on_form_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if let Some(cmd) = lookup(&[Context::Feedback], &key) {
        return on_command(app, cmd);
    }
    let catalog = app.catalog.clone();
    let Some(f) = app.form_mut() else { return vec![] };
    match f.focus {
        Field::Outcome => {
            if let (KeyCode::Char(c), KeyModifiers::NONE | KeyModifiers::SHIFT) = (key.code, key.modifiers) {
                match catalog.by_key(c.to_ascii_lowercase()) {
                    Some((i, _)) => choose(f, i),
                    None => f.error = Some(format!("No outcome on key {c:?}; use a–{}", last_key(&catalog))),
                }
            }
        }
        Field::Remarks => {
            let event = crossterm::event::Event::Key(key);
            if let Some(req) = to_input_request(&event) {
                let before = f.remarks.clone();
                f.remarks.handle(req);
                if f.remarks.value().chars().count() > REMARKS_MAX {
                    f.remarks = before;
                    f.error = Some(format!("Remarks are limited to {REMARKS_MAX} characters"));
                } else {
                    f.dirty = true;
                }
            }
        }
        Field::Duration => {
            let event = crossterm::event::Event::Key(key);
            let digit_or_edit = !matches!(key.code, KeyCode::Char(c) if !c.is_ascii_digit());
            if let Some(req) = to_input_request(&event).filter(|_| digit_or_edit) {
                f.duration.handle(req);
                f.dirty = true;
            }
        }
    }
    vec![]
}

pub(super) fn last_key(catalog: &crate::domain::FeedbackCatalog) -> char {
    (0..catalog.all().len()).rev().find_map(crate::domain::feedback::outcome_key).unwrap_or('a')
}

pub(super) fn choose(f: &mut FeedbackForm, index: usize) {
    f.chosen = Some(index);
    f.cursor = index;
    f.focus = Field::Remarks;
    f.error = None;
    f.dirty = true;
}

pub(super) fn end_call(app: &mut App) -> Vec<Effect> {
    if app.form().is_some() {
        return vec![];
    }
    let Some(live) = app.live.clone() else {
        if app.wrapups.is_empty() {
            app.info("No call in progress.");
        } else {
            open_next_wrapup(app);
        }
        return vec![];
    };
    if live.call.feedback.as_deref().is_some_and(|f| !f.is_empty()) {
        app.info("That call's outcome is already saved.");
        return vec![];
    }
    let draft = app.wrapups.iter().find(|(c, _)| c.id == live.call.id).and_then(|(_, d)| d.clone());
    let elapsed = (app.now - live.call.created_at).num_seconds().max(0);
    let form = FeedbackForm::new(live.call, draft.as_ref(), &app.catalog, Some(elapsed));
    app.modal = Some(Modal::Feedback(Box::new(form)));
    vec![]
}

pub(super) fn open_next_wrapup(app: &mut App) {
    if app.form().is_some() {
        return;
    }
    if let Some((call, draft)) = app.wrapups.front().cloned() {
        let form = FeedbackForm::new(call, draft.as_ref(), &app.catalog, None);
        app.modal = Some(Modal::Feedback(Box::new(form)));
    }
}

pub(super) fn on_call_updated(app: &mut App, u: crate::bus::CallUpdate) -> Vec<Effect> {
    if u.source == "webhook" || u.source == "reconcile" {
        app.last_webhook = Some(app.now);
    }
    if u.call.caller_id != Some(app.me.caller_id) {
        return vec![];
    }
    let mut fx = Vec::new();
    let is_live = app.live.as_ref().is_some_and(|l| l.call.id == u.call.id);
    if is_live {
        if let Some(l) = app.live.as_mut() {
            l.call = u.call.clone();
        }
        fx.push(Effect::LoadTimeline(u.call.id));
    }
    let ended = u.call.call_status().is_final();
    let needs_feedback = u.call.feedback.as_deref().is_none_or(str::is_empty);
    if ended {
        app.remember(&u.call);
    }
    if ended && needs_feedback && u.source != "feedback" && u.source != "dial" {
        let id = u.call.id;
        if let Some(f) = app.form_mut().filter(|f| f.call.id == id) {
            // A later report (leg B's talk time) for the form on screen.
            f.call = u.call.clone();
        } else if let Some(w) = app.wrapups.iter_mut().find(|(c, _)| c.id == id) {
            // Already waiting (perhaps put aside on purpose): keep it there, up to date.
            w.0 = u.call.clone();
        } else {
            // The call is over: the wrap-up opens by itself, or waits behind the one on screen.
            let name = strip_controls(u.call.driver_name.as_deref().unwrap_or(""));
            let status = u.call.call_status();
            if matches!(app.modal, None | Some(Modal::Help)) {
                app.modal = None;
                app.wrapups.push_front((u.call.clone(), None));
                open_next_wrapup(app);
                app.info(format!("Call to {name} {status}: record the outcome."));
            } else {
                app.wrapups.push_back((u.call.clone(), None));
                app.info(format!("Call to {name} {status}: its wrap-up waits (w)."));
            }
        }
    }
    fx
}

pub(super) fn save(app: &mut App, call_next: bool) -> Vec<Effect> {
    let catalog = app.catalog.clone();
    let Some(f) = app.form_mut() else { return vec![] };
    if f.saving {
        return vec![];
    }
    if f.focus == Field::Outcome && !call_next && f.chosen != Some(f.cursor) {
        // Enter on the outcome list picks the highlighted outcome first.
        let c = f.cursor;
        choose(f, c);
        return vec![];
    }
    let Some(option) = f.chosen.and_then(|i| catalog.all().get(i)) else {
        f.error = Some(format!("Choose an outcome first (keys a–{}).", last_key(&catalog)));
        f.focus = Field::Outcome;
        return vec![];
    };
    let duration = if f.manual {
        match f.duration.value().trim().parse::<i64>() {
            Ok(d) if (0..=86_400).contains(&d) => Some(d),
            _ => {
                f.error = Some("Duration must be a number of seconds (0–86400).".into());
                f.focus = Field::Duration;
                return vec![];
            }
        }
    } else {
        None
    };
    let current = f.call.call_status();
    let status = if current.is_final() && !f.manual {
        None
    } else {
        Some(match option.group {
            FeedbackGroup::NotConnected => CallStatus::Missed,
            FeedbackGroup::Connected | FeedbackGroup::CallBackLater => CallStatus::Completed,
        })
    };
    f.saving = true;
    f.error = None;
    let feedback = SubmitFeedback {
        call_id: f.call.id,
        status,
        feedback: option.label.clone(),
        remarks: f.remarks.value().trim().to_string(),
        call_duration: duration,
    };
    vec![Effect::Submit { feedback, call_next }]
}

pub(super) fn on_saved(
    app: &mut App,
    call: crate::domain::CallLog,
    decision: QueueDecision,
    call_next: bool,
) -> Vec<Effect> {
    if app.form().is_some_and(|f| f.call.id == call.id) {
        app.modal = None;
    }
    app.wrapups.retain(|(c, _)| c.id != call.id);
    if app.live.as_ref().is_some_and(|l| l.call.id == call.id) {
        app.live = None;
    }
    app.remember(&call);
    let name = strip_controls(call.driver_name.as_deref().unwrap_or(""));
    let feedback = call.feedback.clone().unwrap_or_default();
    let effect = match decision {
        QueueDecision::Remove => format!("{name} left the queue"),
        QueueDecision::Requeue { due_at, callback } => {
            let when = due_at.with_timezone(&app.tz).format("%a %H:%M");
            if callback { format!("callback for {name} due {when}") } else { format!("{name} will be retried {when}") }
        }
    };
    app.info(format!("Saved \"{feedback}\": {effect}."));
    let mut fx = refresh_queue_in_place(app);
    if !app.wrapups.is_empty() {
        // Unfinished wrap-ups come before new calls.
        open_next_wrapup(app);
    } else if call_next {
        app.pending_call_next = true;
    }
    if app.screen == Screen::Stats {
        fx.push(Effect::LoadStats);
    }
    fx
}

/// After the queue reloads following "save and call next", dial the driver now selected.
pub fn after_queue_loaded(app: &mut App) -> Vec<Effect> {
    if !std::mem::take(&mut app.pending_call_next) {
        return vec![];
    }
    let Some(driver) = app.queue.selected_entry().cloned() else {
        app.info("Saved. The queue is empty: nobody else is due.");
        return vec![];
    };
    let kind = if app.me.telecmi_refusal.is_none() { app.last_kind } else { CallKind::Manual };
    app.modal = Some(Modal::CallDialog(CallDialog { driver, highlighted: kind }));
    dial(app, kind)
}
