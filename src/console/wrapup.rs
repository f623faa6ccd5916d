//! The wrap-up: opening the form when a call ends (or the agent says so, or by itself once nothing
//! is in the way) and checking it for its save. What follows a save (the next wrap-up, "save and
//! call next", an outcome saved elsewhere meanwhile) is in [`super::saved`], a save that waits for
//! the database in [`super::save_retry`], typing into the form in [`super::form_keys`].

use super::action::Effect;
use super::state::{App, AutoOpen, FACTS_COMING, FACTS_WAIT, FeedbackForm, Field, LiveCall, Modal, PICK_FIRST, Screen};
use crate::coord::bus::Source;
use crate::coord::dialer::CallKind;
use crate::domain::feedback::outcome_key;
use crate::domain::text::strip_controls;
use crate::domain::wrapup::{CallEnd, MAX_DURATION_SECS, duration_fits, stored_remarks};
use crate::domain::{CallLog, CallStatus, FeedbackCatalog, FeedbackGroup};
use crate::store::{FeedbackDraft, SubmitFeedback};
use crate::tui::keys::{self, Command, Context};

/// The last outcome letter of the catalogue (`a–w`), for the form's hints.
pub(super) fn last_key(catalog: &FeedbackCatalog) -> char {
    (0..catalog.all().len()).rev().find_map(outcome_key).unwrap_or('a')
}

/// Puts the form among the waiting wrap-ups (first), with what was typed.
pub(super) fn keep_aside(app: &mut App, f: &FeedbackForm, draft: FeedbackDraft) {
    // Put aside on purpose: it does not open again by itself.
    if app.auto_open.is_some_and(|a| a.call_id == f.call.id) {
        app.auto_open = None;
    }
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
        app.error(unconfirmed_wait());
        return vec![];
    }
    let draft = app.wrapups.iter().find(|(c, _)| c.id == live.call.id).and_then(|(_, d)| d.clone());
    let manual_live = live.kind == CallKind::Manual && live.call.call_status().is_live();
    // A manual call ends when the agent says so: the first `e` is that moment.
    let ended_at = if manual_live { live.ended_at.unwrap_or(app.now) } else { app.now };
    if manual_live && let Some(l) = app.live.as_mut() {
        l.ended_at = Some(ended_at);
    }
    let elapsed = (ended_at - live.call.created_at).num_seconds().max(0);
    let id = live.call.id;
    let mut form = FeedbackForm::new(live.call, draft.as_ref(), &app.catalog, Some(elapsed));
    form.learn(live.end, &app.catalog);
    // A missed call's report of who missed may still be on its way (1–2 s after the status).
    let facts_by = form.call.updated_at.unwrap_or(app.now) + FACTS_WAIT;
    if needs_facts(&form.call) && form.end == CallEnd::Unknown && facts_by > app.now {
        form.facts_due = Some(facts_by);
    }
    if app.auto_open.is_some_and(|a| a.call_id == id) {
        app.auto_open = None;
    }
    app.modal = Some(Modal::Feedback(Box::new(form)));
    vec![Effect::LoadFacts(id)]
}

/// Opens the oldest waiting wrap-up (if no form is open) because the agent asked (`w`), and asks
/// how its call ended.
pub(super) fn open_next_wrapup(app: &mut App) -> Vec<Effect> {
    open_wrapup(app, false, None)
}

/// Opens the oldest waiting wrap-up by itself (a save finished, the console started): its first
/// moment ignores keys typed for what was on screen before ([`UNASKED_GRACE`]).
pub(super) fn open_unasked(app: &mut App) -> Vec<Effect> {
    open_wrapup(app, true, None)
}

/// Opens the first waiting wrap-up. A missed TeleCMI call's facts are awaited until `facts_by`
/// (default: [`FACTS_WAIT`] after the call's last change).
fn open_wrapup(app: &mut App, unasked: bool, facts_by: Option<chrono::DateTime<chrono::Utc>>) -> Vec<Effect> {
    if app.form().is_some() {
        return vec![];
    }
    let Some((call, draft)) = app.wrapups.front().cloned() else { return vec![] };
    let id = call.id;
    if app.auto_open.is_some_and(|a| a.call_id == id) {
        app.auto_open = None;
    }
    let needs_facts = needs_facts(&call);
    let mut form = FeedbackForm::new(call, draft.as_ref(), &app.catalog, None);
    let end = app.ends.get(&id).copied().unwrap_or(CallEnd::Unknown);
    form.learn(end, &app.catalog);
    let facts_by = facts_by.unwrap_or_else(|| form.call.updated_at.unwrap_or(app.now) + FACTS_WAIT);
    if needs_facts && end == CallEnd::Unknown && facts_by > app.now {
        form.facts_due = Some(facts_by);
    }
    if unasked {
        form.unasked_at = Some(app.now);
    }
    app.modal = Some(Modal::Feedback(Box::new(form)));
    vec![Effect::LoadFacts(id)]
}

/// Whether how `call` ended is still to come from TeleCMI's reports: a TeleCMI call the driver
/// did not take, whose legs' reports say who missed (the status alone does not).
fn needs_facts(call: &CallLog) -> bool {
    CallKind::of(call) == CallKind::Telecmi && call.call_status() == CallStatus::Missed
}

/// Opens the wrap-up waiting in [`App::auto_open`] once nothing is in the way: no dialog, card
/// or form open, no filter or search being typed, and its facts known (or waited for long
/// enough). Run after every action.
pub(super) fn auto_open(app: &mut App) -> Vec<Effect> {
    let Some(a) = app.auto_open else { return vec![] };
    let Some(at) = app.wrapups.iter().position(|(c, _)| c.id == a.call_id) else {
        // Saved meanwhile (another console, the API).
        app.auto_open = None;
        return vec![];
    };
    let known = app.ends.get(&a.call_id).is_some_and(|e| *e != CallEnd::Unknown);
    if !known && app.now < a.facts_by {
        return vec![];
    }
    if matches!(app.modal, Some(Modal::Help)) {
        // Help is reading, not work: the wrap-up is what matters now.
        app.modal = None;
    }
    let busy = app.modal.is_some()
        || app.queue.filtering
        || (app.screen == Screen::Search && app.search.typing)
        || app.dialing;
    if busy {
        return vec![];
    }
    if let Some(w) = app.wrapups.remove(at) {
        app.wrapups.push_front(w);
    }
    app.auto_open = None;
    open_wrapup(app, true, Some(a.facts_by))
}

pub(super) fn on_call_updated(app: &mut App, u: crate::coord::bus::CallUpdate) -> Vec<Effect> {
    if let Some(id) = u.event_id
        && !app.seen_events.insert(id)
    {
        // Already shown: this console's own listener told us first, the feed repeats it.
        return vec![];
    }
    if u.source == Source::Webhook || u.source == Source::Reconcile {
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
    } else if u.source != Source::Dial && !app.dialing && shows_elsewhere(app, &u.call) {
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
    if !needs_feedback {
        outcome_saved_elsewhere(app, &u.call);
    }
    // A report written before this console's save committed carries no outcome: the call was
    // saved here already, and its wrap-up does not come back.
    let saved_here =
        app.recent.iter().any(|c| c.id == u.call.id && c.feedback.as_deref().is_some_and(|f| !f.is_empty()));
    if saved_here && needs_feedback {
        return fx;
    }
    if ended {
        app.remember(&u.call);
    }
    if ended && needs_feedback && u.source != Source::Feedback && u.source != Source::Dial {
        fx.extend(wrapup_for_ended(app, u.call));
    }
    fx
}

/// The outcome of `call` was saved (here, or elsewhere: another console, the old app): a waiting
/// wrap-up for it goes; a form on screen for it stays with what was typed and says so (its save
/// adds the remarks to the saved outcome).
fn outcome_saved_elsewhere(app: &mut App, call: &CallLog) {
    if let Some(f) = app.form_mut().filter(|f| f.call.id == call.id) {
        if !f.saving {
            f.call = call.clone();
            f.error = Some(format!(
                "The outcome \"{}\" was saved elsewhere meanwhile: {} adds your remarks to it, {} leaves it.",
                strip_controls(call.feedback.as_deref().unwrap_or("")),
                keys::key(Context::Feedback, Command::SaveFeedback),
                keys::key(Context::Feedback, Command::Close),
            ));
        }
        return;
    }
    if app.wrapups.iter().any(|(c, _)| c.id == call.id) {
        forget_wrapup(app, call.id);
    }
}

/// Whether `call` (this agent's) is live and to be shown as their live call: this console shows
/// none, and it is not abandoned (older than the refresh's 2 hours).
pub(super) fn shows_elsewhere(app: &App, call: &CallLog) -> bool {
    call.call_status().is_live()
        && app.now - call.created_at < crate::store::ABANDONED_AFTER
        && app.live.as_ref().is_none_or(|l| !l.in_progress())
}

/// Shows `call` as the agent's live call.
pub(super) fn adopt(app: &mut App, call: CallLog) -> Vec<Effect> {
    let id = call.id;
    app.elsewhere = None;
    app.live = Some(LiveCall::new(call.clone(), CallKind::of(&call)));
    vec![Effect::LoadTimeline(id), Effect::LoadFacts(id)]
}

/// A call ended without an outcome: update its form or waiting wrap-up, or make it the wrap-up
/// that opens by itself ([`auto_open`]) as soon as nothing is in the way and its facts are in.
fn wrapup_for_ended(app: &mut App, call: CallLog) -> Vec<Effect> {
    let id = call.id;
    if let Some(f) = app.form_mut().filter(|f| f.call.id == id) {
        // A later report (leg B's talk time), or the end, for the form on screen.
        f.call = call;
        if f.error.as_deref().is_some_and(|e| e.starts_with(STILL_LIVE)) {
            f.error = None;
        }
        return vec![Effect::LoadFacts(id)];
    }
    if let Some(w) = app.wrapups.iter_mut().find(|(c, _)| c.id == id) {
        // Already waiting (perhaps put aside on purpose): keep it there, up to date; a later
        // report may tell how it ended.
        w.0 = call;
        return vec![Effect::LoadFacts(id)];
    }
    let name = strip_controls(call.driver_name.as_deref().unwrap_or(""));
    let status = call.call_status();
    let wait = if needs_facts(&call) { FACTS_WAIT } else { chrono::Duration::zero() };
    if app.form().is_some() || app.auto_open.is_some() {
        // Another wrap-up comes first; this one follows it.
        app.wrapups.push_back((call, None));
        app.info(format!("Call to {name} {status}: its wrap-up follows the one before it."));
        return vec![Effect::LoadFacts(id)];
    }
    app.wrapups.push_front((call, None));
    app.auto_open = Some(AutoOpen { call_id: id, facts_by: app.now + wait });
    if app.modal.is_some() && !matches!(app.modal, Some(Modal::Help)) {
        app.info(format!("Call to {name} {status}: its wrap-up opens when you close this."));
    } else {
        app.info(format!("Call to {name} {status}: record the outcome."));
    }
    vec![Effect::LoadFacts(id)]
}

/// Checks the form and asks to store it; nothing is sent while anything is missing or wrong.
pub(super) fn save(app: &mut App, call_next: bool) -> Vec<Effect> {
    let catalog = app.catalog.clone();
    let app_now = app.now;
    let Some(f) = app.form_mut().filter(|f| !f.saving) else { return vec![] };
    let now = app_now;
    if let Some(why) = long_duration_question(f, &catalog, now) {
        f.error = Some(why);
        f.focus = Field::Duration;
        return vec![];
    }
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
    vec![Effect::Submit { feedback, call_next, retry: false }]
}

/// How a form's message that asks (rather than refuses) begins: drawn as a question, not an error.
pub const QUESTION: &str = "? ";

/// How the refusal of a save on a TeleCMI call still live begins (cleared when it ends).
const STILL_LIVE: &str = "The call has not ended at TeleCMI";

/// A manual duration longer than the time since dialing (plus a minute) is asked about once:
/// agents often dial first and log later, so a second Enter saves it as typed. `None` when there
/// is nothing to ask (or it was confirmed).
fn long_duration_question(
    f: &mut FeedbackForm,
    catalog: &FeedbackCatalog,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let group = f.chosen_group(catalog)?;
    if !f.manual || group == FeedbackGroup::NotConnected {
        return None;
    }
    let d = f.duration.value().trim().parse::<i64>().ok().filter(|d| duration_fits(*d))?;
    let since = (now - f.call.created_at).num_seconds().max(0);
    if d <= since + 60 || f.confirmed_duration == Some(d) {
        return None;
    }
    f.confirmed_duration = Some(d);
    let enter = keys::key(Context::Feedback, Command::SaveFeedback);
    Some(format!(
        "{QUESTION}{d} s is longer than the {since} s since you dialed. {enter} again saves {d} s as typed; or correct it."
    ))
}

/// Why an unconfirmed call's wrap-up waits, and the key that marks it not placed.
fn unconfirmed_wait() -> String {
    let n = keys::key(Context::Queue, Command::MarkNotPlaced);
    format!(
        "TeleCMI has not confirmed this call: its reports will settle it. If your phone did not ring, press {n} \
         (after a minute) to mark it not placed."
    )
}

/// The row to store, or why not and which field to fix.
pub(super) fn checked(
    f: &FeedbackForm,
    catalog: &FeedbackCatalog,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SubmitFeedback, (String, Field)> {
    if f.call.is_unconfirmed() {
        return Err((unconfirmed_wait(), f.focus));
    }
    if !f.manual && f.call.call_status().is_live() {
        // An outcome saved while TeleCMI still rings would stand against what the call then does
        // (it may be answered): the end comes from TeleCMI's report, and the save waits for it.
        let why = format!(
            "{STILL_LIVE}: it is {}. Keep typing; Enter saves once TeleCMI reports its end \
             (if no report comes, calldesk asks TeleCMI after a few minutes).",
            f.call.call_status()
        );
        return Err((why, f.focus));
    }
    let Some((index, option)) = f.chosen.and_then(|i| catalog.all().get(i).map(|o| (i, o))) else {
        if f.facts_due.is_some_and(|t| now < t) {
            let why = format!("{FACTS_COMING}: the outcome follows from it in a moment (or pick one yourself).");
            return Err((why, Field::Outcome));
        }
        let arrows = keys::shown(Context::FeedbackList, &[Command::SelectPrev, Command::SelectNext]);
        let pick = keys::key(Context::FeedbackList, Command::PickHighlighted);
        let why = format!("{PICK_FIRST}: its letter (a–{}), or {arrows} and {pick}.", last_key(catalog));
        return Err((why, Field::Outcome));
    };
    if let Some(why) = f.refusal(catalog, index) {
        return Err((format!("\"{}\" does not fit: {why}. Pick another outcome.", option.label), Field::Outcome));
    }
    let duration = talk_time(f, option.group)?;
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

/// The talk time to store: a manual call's typed duration (0 when nobody talked); a TeleCMI
/// call's comes from TeleCMI (`None`).
fn talk_time(f: &FeedbackForm, group: FeedbackGroup) -> Result<Option<i64>, (String, Field)> {
    if !f.manual {
        return Ok(None);
    }
    if group == FeedbackGroup::NotConnected {
        // Nobody talked: whatever the field held (the time since dialing), talk time is 0.
        return Ok(Some(0));
    }
    match f.duration.value().trim().parse::<i64>() {
        Ok(d) if duration_fits(d) => Ok(Some(d)),
        _ => Err((format!("Duration must be a number of seconds (0–{MAX_DURATION_SECS})."), Field::Duration)),
    }
}

/// A waiting wrap-up that is owed no more (its outcome saved, its call cancelled): it leaves the
/// waiting list, its facts and the self-opening slot.
pub(super) fn forget_wrapup(app: &mut App, id: i64) {
    app.wrapups.retain(|(c, _)| c.id != id);
    app.ends.remove(&id);
    if app.auto_open.is_some_and(|a| a.call_id == id) {
        app.auto_open = None;
    }
}

/// Until when the waiting wrap-up of call `id` waits for its facts before opening by itself.
pub(super) fn facts_by(app: &App, id: i64) -> chrono::DateTime<chrono::Utc> {
    let waits = app.wrapups.iter().any(|(c, _)| c.id == id && needs_facts(c));
    if waits { app.now + FACTS_WAIT } else { app.now }
}

/// The call's outcome stands in the database: its form, wrap-up and live pane go.
pub(super) fn settle_wrapup(app: &mut App, call: &CallLog) {
    forget_wrapup(app, call.id);
    app.waiting.remove(&call.id);
    if app.form().is_some_and(|f| f.call.id == call.id) {
        app.modal = None;
    }
    if app.live.as_ref().is_some_and(|l| l.call.id == call.id) {
        app.live = None;
    }
    app.remember(call);
}

#[cfg(test)]
mod tests {
    /// The sentence reads as it did when its key was typed by hand.
    #[test]
    fn unconfirmed_wait_names_the_table_key() {
        assert_eq!(
            super::unconfirmed_wait(),
            "TeleCMI has not confirmed this call: its reports will settle it. If your phone did not ring, press n \
             (after a minute) to mark it not placed."
        );
    }
}
