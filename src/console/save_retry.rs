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
    app.waiting.insert(call_id, WaitingSave { feedback, why, tries, next_try: now + pause(tries), trying: false });
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
    let due: Vec<i64> = app.waiting.iter().filter(|(_, w)| !w.trying && now >= w.next_try).map(|(id, _)| *id).collect();
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
                    f.error = Some(why);
                    f.focus = field;
                    app.waiting.remove(&id);
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
