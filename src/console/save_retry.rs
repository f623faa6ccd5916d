//! A wrap-up save that did not reach the database (issue 26): the form keeps what was typed and
//! says plainly that the save waits; the save is tried again by itself — a ping first, then the
//! save — after a pause that grows to [`PAUSE_MAX`], until the database answers. Only a failure
//! for want of the database waits; a refusal by a rule is shown as before.
//!
//! Trying twice cannot store two outcomes: a wrap-up saves only a call's first outcome (the
//! store refuses a second one under the call row's lock), and a try that had reached the
//! database after all (its answer lost with the connection) is recognised by the outcome it
//! left ([`super::wrapup`]).

use chrono::Duration;

use super::action::Effect;
use super::state::{App, WaitingSave};
use super::waiting_state::WAITING;
use super::wrapup::checked;
use crate::domain::text::strip_controls;
use crate::store::SubmitFeedback;

/// The longest pause between two tries.
const PAUSE_MAX: Duration = Duration::seconds(5);

/// The pause after the `tries`-th try that did not reach the database: 2 s, 4 s, then 5 s.
fn pause(tries: u32) -> Duration {
    Duration::seconds(1_i64 << tries.min(4)).min(PAUSE_MAX)
}

/// The save of call `call_id`'s outcome (`feedback`) did not reach the database: it waits, and
/// the form (if on screen) is free to type into again.
pub(super) fn on_waiting(app: &mut App, call_id: i64, feedback: SubmitFeedback, why: String) -> Vec<Effect> {
    tracing::info!(call_id, "wrap-up save waits for the database: {why}");
    let now = app.now;
    let tries = app.waiting.get(&call_id).map_or(0, |w| w.tries) + 1;
    let from_before = app.waiting.get(&call_id).is_some_and(|w| w.from_before);
    let next_try = now + pause(tries);
    app.waiting.insert(call_id, WaitingSave { feedback, why, tries, next_try, trying: false, from_before });
    if let Some(f) = app.form_mut().filter(|f| f.call.id == call_id) {
        f.saving = false;
        f.error = None;
    }
    let name = name_of(app, call_id);
    app.info(format!("{}: the wrap-up for {name} is kept and will be saved when the database answers.", WAITING));
    vec![]
}

/// The waiting saves whose pause is over, tried again: the form on screen with its fields as
/// they are now (what was typed meanwhile is saved too), one put aside as it was sent. A form
/// whose fields no longer make a save (the outcome cleared) stops waiting and says why.
pub(super) fn retry_due(app: &mut App) -> Vec<Effect> {
    let now = app.now;
    let due: Vec<i64> = app
        .waiting
        .iter()
        .filter(|(id, w)| !w.trying && now >= w.next_try && !awaits_facts(app, **id, w))
        .map(|(id, _)| *id)
        .collect();
    let catalog = app.catalog.clone();
    let mut fx = Vec::new();
    for id in due {
        let feedback = match app.form_mut().filter(|f| f.call.id == id) {
            Some(f) if f.saving => continue,
            Some(f) => match checked(f, &catalog, now) {
                Ok(feedback) => {
                    f.saving = true;
                    feedback
                }
                Err((why, field)) => {
                    f.error = Some(why.clone());
                    f.focus = field;
                    if let Some(w) = app.waiting.remove(&id) {
                        // The agent changed the form: the save pressed no longer stands.
                        fx.push(Effect::SaveNotRequested(id));
                        if w.from_before {
                            app.info(format!("The save you pressed before the console closed was not made: {why}"));
                        }
                    }
                    continue;
                }
            },
            None => match app.waiting.get(&id) {
                Some(w) => w.feedback.clone(),
                None => continue,
            },
        };
        if let Some(w) = app.waiting.get_mut(&id) {
            w.trying = true;
        }
        // A save that waited does not dial by itself afterwards: the agent may be elsewhere by then.
        fx.push(Effect::Submit { feedback, call_next: false, retry: true });
    }
    fx
}

/// How long a save pressed before the console closed waits for how its call ended (the form's
/// facts) before it is tried anyway.
const FACTS_FIRST: Duration = Duration::seconds(10);

/// Wrap-ups whose save the agent pressed in a console that closed before the database answered
/// (`calls`, from the local draft file): each waits as a save pressed here would, and is tried at
/// once — the form on screen once it knows how its call ended, with its fields as they are; one
/// not on screen as its draft says. A draft that no longer makes a save (an outcome it lacks)
/// is left to its form, which says why when it opens.
pub(super) fn resume_requested(app: &mut App, calls: &[i64]) -> Vec<Effect> {
    let now = app.now;
    let mut fx = Vec::new();
    let catalog = app.catalog.clone();
    let mut names = Vec::new();
    for id in calls {
        let Some((call, draft)) = app.wrapups.iter().find(|(c, _)| c.id == *id).cloned() else { continue };
        let on_screen = app.form().is_some_and(|f| f.call.id == *id);
        let mut form = super::state::FeedbackForm::new(call, draft.as_ref(), &catalog, None);
        if let Some(end) = app.ends.get(id) {
            form.learn(*end, &catalog);
        }
        let feedback = match checked(&form, &catalog, now) {
            Ok(feedback) => feedback,
            // Tried at once on screen: the form says why.
            Err(_) if on_screen => SubmitFeedback { call_id: *id, ..SubmitFeedback::default() },
            Err((why, _)) => {
                tracing::warn!(call_id = id, "a save pressed before the console closed cannot be made: {why}");
                fx.push(Effect::SaveNotRequested(*id));
                continue;
            }
        };
        let why = "pressed before the console closed".to_string();
        let next_try = now;
        app.waiting.insert(*id, WaitingSave { feedback, why, tries: 0, next_try, trying: false, from_before: true });
        names.push(name_of(app, *id));
    }
    if !names.is_empty() {
        app.info(format!(
            "Saving the wrap-up for {} — the save you pressed before the console closed…",
            names.join(", ")
        ));
    }
    fx
}

/// A save pressed before the console closed, of the form on screen, waits (a little) for the
/// form to know how its call ended: its outcome may depend on it.
fn awaits_facts(app: &App, id: i64, w: &WaitingSave) -> bool {
    w.from_before
        && w.tries == 0
        && app.now < w.next_try + FACTS_FIRST
        && app.form().is_some_and(|f| f.call.id == id)
        && !app.ends.contains_key(&id)
}

/// A save refused by a rule: the save that was being tried, and the form's, wait no more.
pub(super) fn on_refused(app: &mut App) {
    let on_screen = app.form().map(|f| f.call.id);
    app.waiting.retain(|id, w| !w.trying && Some(*id) != on_screen);
}

fn name_of(app: &App, call_id: i64) -> String {
    let from_form = app.form().filter(|f| f.call.id == call_id).map(|f| &f.call);
    let call = from_form.or_else(|| app.wrapups.iter().map(|(c, _)| c).find(|c| c.id == call_id));
    strip_controls(call.and_then(|c| c.driver_name.as_deref()).unwrap_or("this call"))
}
