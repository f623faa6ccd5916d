//! What follows a wrap-up's save: the outcome stored (the next wrap-up opens, or the next driver
//! is called), an outcome saved elsewhere meanwhile (the agent's remarks are added to it), or a
//! save that waited for the database and had reached it after all.

use super::action::Effect;
use super::dialing::dial_guard;
use super::lists::refresh_queue_in_place;
use super::state::{App, Screen};
use super::wrapup::{open_unasked, settle_wrapup};
use crate::domain::text::strip_controls;
use crate::domain::wrapup::stored_remarks;
use crate::domain::{CallLog, QueueDecision};
use crate::tui::keys::{self, Command, Context};

pub(super) fn on_saved(app: &mut App, call: CallLog, decision: QueueDecision, call_next: bool) -> Vec<Effect> {
    let waited = app.waiting.get(&call.id).map(|w| w.from_before);
    settle_wrapup(app, &call);
    app.free_since = Some(app.now);
    match waited {
        Some(true) => app.info(pressed_before_message(&call)),
        Some(false) => app.info(format!("{} (The database is back.)", saved_message(app, &call, decision))),
        None => app.info(saved_message(app, &call, decision)),
    }
    let mut fx = refresh_queue_in_place(app);
    if !app.wrapups.is_empty() {
        // Unfinished wrap-ups come before new calls; the next opens by itself, so its first
        // moment ignores keys meant for the one just saved (an Enter pressed twice).
        fx.extend(open_unasked(app));
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

/// The words for a save pressed in a console that closed before the database answered, made now.
fn pressed_before_message(call: &CallLog) -> String {
    let name = strip_controls(call.driver_name.as_deref().unwrap_or("this driver"));
    let saved = strip_controls(call.feedback.as_deref().unwrap_or(""));
    format!("Saved \"{saved}\" for {name} — the save you pressed before the console closed.")
}

/// The form's outcome was refused because the call's outcome was saved elsewhere meanwhile
/// (another console of this agent, the old app through the API): that outcome stands. What the
/// agent typed in the remarks is not dropped: it is added after the saved remarks (both kept),
/// and the agent is told.
pub(super) fn on_already_saved(app: &mut App, call: CallLog) -> Vec<Effect> {
    if reached_before(app, &call) {
        return on_reached_before(app, call);
    }
    let typed = app.form().filter(|f| f.call.id == call.id).map(|f| f.remarks.value().trim().to_string());
    let saved_remarks = call.remarks.clone().unwrap_or_default();
    let adds = |t: &String| crate::domain::wrapup::joined_remarks(&saved_remarks, t) != saved_remarks.trim();
    if let Some(typed) = typed.filter(|t| !t.is_empty() && adds(t))
        && let Some(f) = app.form_mut().filter(|f| f.call.id == call.id)
    {
        f.saving = true;
        f.call = call.clone();
        f.error = Some(format!(
            "The outcome \"{}\" was saved elsewhere meanwhile; adding your remarks to it…",
            strip_controls(call.feedback.as_deref().unwrap_or(""))
        ));
        return vec![Effect::AddRemarks { call_id: call.id, remarks: typed }];
    }
    let picked = picked_label(app, call.id);
    settle_wrapup(app, &call);
    app.free_since = Some(app.now);
    app.error(elsewhere_message(&call, picked.as_deref(), false));
    after_elsewhere(app)
}

/// A waiting save found its outcome saved by an earlier try of its own (the answer lost on the
/// way): saved. Remarks typed while it waited are added to the stored ones.
fn on_reached_before(app: &mut App, call: CallLog) -> Vec<Effect> {
    let typed = app.form().filter(|f| f.call.id == call.id).map(|f| (f.remarks.value().trim().to_string(), f.end));
    if let Some((typed, end)) = typed
        && call.remarks.as_deref().unwrap_or("") != stored_remarks(end, &typed)
        && let Some(f) = app.form_mut()
    {
        f.saving = true;
        f.call = call.clone();
        return vec![Effect::AddRemarks { call_id: call.id, remarks: typed }];
    }
    settle_wrapup(app, &call);
    app.free_since = Some(app.now);
    app.info(reached_before_message(&call));
    after_elsewhere(app)
}

/// Whether `call`, found saved already by a save that was waiting, was saved by an earlier try
/// of that same save (its answer lost on the way): the outcome stored is the one sent.
fn reached_before(app: &App, call: &CallLog) -> bool {
    app.waiting.get(&call.id).is_some_and(|w| call.feedback.as_deref() == Some(w.feedback.feedback.as_str()))
}

/// The words for a waiting save that had been stored by an earlier try.
fn reached_before_message(call: &CallLog) -> String {
    let name = strip_controls(call.driver_name.as_deref().unwrap_or("this driver"));
    let saved = strip_controls(call.feedback.as_deref().unwrap_or(""));
    format!("Saved \"{saved}\" for {name} (the database is back).")
}

/// The remarks typed for a call saved elsewhere were added (or refused, and the form stays).
pub(super) fn on_remarks_added(app: &mut App, result: Result<Box<CallLog>, String>) -> Vec<Effect> {
    let call = match result {
        Ok(call) => *call,
        Err(why) => {
            if let Some(f) = app.form_mut().filter(|f| f.saving) {
                f.saving = false;
                let retry = keys::key(Context::Feedback, Command::SaveFeedback);
                f.error = Some(format!("Your remarks were not added: {why}. Entries kept; {retry} retries."));
            }
            return vec![];
        }
    };
    let ours = reached_before(app, &call);
    let picked = picked_label(app, call.id);
    settle_wrapup(app, &call);
    app.free_since = Some(app.now);
    if ours {
        app.info(reached_before_message(&call));
    } else {
        app.info(elsewhere_message(&call, picked.as_deref(), true));
    }
    after_elsewhere(app)
}

/// The outcome picked in the form on screen for call `id`, if any.
fn picked_label(app: &App, id: i64) -> Option<String> {
    let f = app.form().filter(|f| f.call.id == id)?;
    f.chosen.and_then(|i| app.catalog.all().get(i)).map(|o| o.label.clone())
}

fn after_elsewhere(app: &mut App) -> Vec<Effect> {
    let mut fx = refresh_queue_in_place(app);
    if !app.wrapups.is_empty() {
        fx.extend(open_unasked(app));
    }
    fx
}

/// What stands for a call whose outcome was saved elsewhere while the agent typed a wrap-up.
fn elsewhere_message(call: &CallLog, picked: Option<&str>, remarks_added: bool) -> String {
    let name = strip_controls(call.driver_name.as_deref().unwrap_or("this driver"));
    let saved = strip_controls(call.feedback.as_deref().unwrap_or(""));
    // Short enough for one line at 120 columns: what stands first, then what became of yours.
    let mut text = format!("Saved elsewhere meanwhile: \"{saved}\" stands for {name}");
    if remarks_added {
        text.push_str("; your remarks were added");
    }
    match picked {
        Some(p) if p != saved => text.push_str(&format!("; your pick \"{}\" was not saved", strip_controls(p))),
        _ => {}
    }
    text.push('.');
    text
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
        QueueDecision::Kept { newer_call } => {
            format!("{name}'s place in the queue stays as the later call (#{newer_call}) left it")
        }
        QueueDecision::Remove => format!("{name} left the queue"),
        QueueDecision::Requeue { due_at, .. } if (due_at - app.now).num_seconds() < 60 => {
            format!("{name} stays first in the queue")
        }
        QueueDecision::Requeue { due_at, callback } => {
            let when = crate::tui::format::when(due_at, app.now, app.tz);
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
