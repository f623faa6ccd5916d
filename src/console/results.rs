//! What the console does with the results of its effects: pages loaded, calls placed, facts read,
//! outcomes saved, errors.

use std::collections::HashSet;

use super::action::{Action, Effect};
use super::dialing::after_queue_loaded;
use super::lists::{PAGE, clamp_offsets, refresh_queue_in_place, reload_queue, take_page};
use super::saved::on_saved;
use super::state::{App, LiveCall, Modal, RECENT_CALLS};
use super::wrapup::open_unasked;
use crate::coord::dialer::CallKind;
use crate::domain::CallLog;
use crate::domain::text::strip_controls;
use crate::store::FeedbackDraft;
use crate::tui::keys::{self, Command, Context};

/// Applies the result of an effect: a flat dispatch, one handler per result.
pub(super) fn on_result(app: &mut App, action: Action) -> Vec<Effect> {
    if landed_read(&action) {
        app.read_landed();
    }
    match action {
        Action::StartupLoaded { wrapups, live, recent, resave } => on_startup(app, wrapups, live, recent, &resave),
        Action::Resynced { live, wrapups, asked_at } => on_resynced(app, live, wrapups, asked_at),
        Action::QueueLoaded { generation, append, rows, due, total, limit } => {
            on_queue_loaded(app, generation, append, rows, Some((due, total)), limit)
        }
        Action::QueuePage { generation, rows, limit } => on_queue_loaded(app, generation, true, rows, None, limit),
        Action::CallLogLoaded { generation, append, rows, total, recorded } => {
            on_call_log_loaded(app, generation, append, (rows, recorded), total)
        }
        Action::SearchLoaded { generation, hits } => super::finder::on_search_loaded(app, generation, hits),
        Action::UpcomingLoaded { generation, append, rows } => {
            super::finder::on_upcoming_loaded(app, generation, append, rows)
        }
        Action::CardLoaded { driver_id, hit, calls, recorded } => {
            super::finder::on_card_loaded(app, &driver_id, hit, calls, recorded)
        }
        Action::LastCallLoaded { driver_id, call } => super::finder::on_last_call(app, &driver_id, call),
        Action::DoNotCallChecked { driver_id, entry } => on_do_not_call(app, &driver_id, entry),
        Action::CallPlaced { call, kind } => on_placed(app, call, kind),
        Action::DialFailed { message, call } => on_dial_failed(app, message, call),
        Action::DialUnconfirmed { message, call } => on_not_placed(app, message, Some(call), false),
        Action::MarkedNotPlaced(r) => settled(app, r, "Marked as not placed"),
        Action::DialCancelled(r) => settled(app, r, "Call cancelled"),
        Action::TimelineLoaded { call_id, events } => on_timeline(app, call_id, events),
        Action::FactsLoaded { call_id, end, attempts } => on_facts(app, call_id, end, attempts),
        Action::FeedbackSaved { call, decision, call_next } => on_saved(app, *call, decision, call_next),
        Action::FeedbackFailed(msg) => on_feedback_failed(app, &msg),
        Action::FeedbackWaiting { call_id, feedback, why } => {
            super::save_retry::on_waiting(app, call_id, feedback, why)
        }
        Action::FeedbackAlreadySaved(call) => super::saved::on_already_saved(app, *call),
        Action::RemarksAdded(r) => super::saved::on_remarks_added(app, r),
        Action::PromptDone(r) => on_prompt_done(app, r),
        Action::StatsLoaded(s) => {
            app.stats = Some(*s);
            vec![]
        }
        Action::StoreFailed(msg) => on_store_failed(app, msg),
        Action::WriteFailed(msg) => {
            app.error(msg);
            vec![]
        }
        // Input, call updates, presence and progress are handled by `update` itself.
        Action::Key(_)
        | Action::Command(_)
        | Action::Tick(_)
        | Action::Clock(_)
        | Action::Resize { .. }
        | Action::Signal(_)
        | Action::SignedInElsewhere(_)
        | Action::CallUpdated(_)
        | Action::PresenceLoaded(_)
        | Action::ProgressLoaded(_) => vec![],
    }
}

/// The call dialog learns whether its driver is on the do-not-call list.
fn on_do_not_call(app: &mut App, driver_id: &str, entry: Option<crate::store::DoNotCall>) -> Vec<Effect> {
    if let Some(Modal::CallDialog(d)) = &mut app.modal
        && d.driver.driver_id == driver_id
    {
        d.do_not_call = entry;
    }
    vec![]
}

/// The live call's timeline, read again.
fn on_timeline(app: &mut App, call_id: i64, events: Vec<crate::store::StoredEvent>) -> Vec<Effect> {
    if let Some(l) = app.live.as_mut().filter(|l| l.call.id == call_id) {
        l.events = events;
    }
    vec![]
}

fn on_dial_failed(app: &mut App, message: String, call: Option<CallLog>) -> Vec<Effect> {
    let owed = message.contains("has no outcome yet");
    let mut fx = on_not_placed(app, message, call, true);
    if owed {
        // The store knows of a wrap-up this console may not show yet.
        fx.push(Effect::Resync);
    }
    fx
}

/// Whether `action` is a read from the database that landed (so the database answers again).
fn landed_read(action: &Action) -> bool {
    matches!(
        action,
        Action::StartupLoaded { .. }
            | Action::Resynced { .. }
            | Action::QueueLoaded { .. }
            | Action::QueuePage { .. }
            | Action::CallLogLoaded { .. }
            | Action::StatsLoaded(_)
            | Action::TimelineLoaded { .. }
            | Action::FactsLoaded { .. }
    )
}

fn on_store_failed(app: &mut App, msg: String) -> Vec<Effect> {
    app.queue.loading = false;
    app.call_log.loading = false;
    app.read_failed(msg);
    vec![]
}

fn on_queue_loaded(
    app: &mut App,
    generation: u64,
    append: bool,
    rows: Vec<crate::store::QueueEntry>,
    counts: Option<(i64, i64)>,
    limit: u32,
) -> Vec<Effect> {
    if generation != app.queue.generation {
        return vec![];
    }
    let q = &mut app.queue;
    q.loading = false;
    q.exhausted = take_page(&mut q.rows, rows, append, limit);
    if let Some((due, total)) = counts {
        q.due = due;
        q.total = total;
    }
    q.selected = q.selected.min(q.rows.len().saturating_sub(1));
    clamp_offsets(app);
    after_queue_loaded(app)
}

fn on_call_log_loaded(
    app: &mut App,
    generation: u64,
    append: bool,
    (rows, recorded): (Vec<CallLog>, HashSet<i64>),
    total: i64,
) -> Vec<Effect> {
    if generation != app.call_log.generation {
        return vec![];
    }
    let v = &mut app.call_log;
    v.loading = false;
    if !append {
        v.recorded.clear();
    }
    v.recorded.extend(recorded);
    v.exhausted = take_page(&mut v.rows, rows, append, PAGE);
    v.total = total;
    v.selected = v.selected.min(v.rows.len().saturating_sub(1));
    clamp_offsets(app);
    vec![]
}

/// The dial did not go through as asked: refused (the row is failed), or unconfirmed (the call
/// may still ring). Either way the row stays in the live pane.
fn on_not_placed(app: &mut App, message: String, call: Option<CallLog>, refused: bool) -> Vec<Effect> {
    app.dialing = false;
    app.error(message);
    let Some(call) = call else { return vec![] };
    let id = call.id;
    app.live = Some(LiveCall::new(call.clone(), CallKind::of(&call)));
    if refused { vec![Effect::LoadTimeline(id), Effect::LoadFacts(id)] } else { vec![Effect::LoadTimeline(id)] }
}

/// A call the agent settled without a wrap-up (marked not placed, cancelled): it leaves the live
/// pane and the driver keeps their attempts.
fn settled(app: &mut App, result: Result<CallLog, String>, what: &str) -> Vec<Effect> {
    let call = match result {
        Ok(c) => c,
        Err(why) => {
            app.error(why);
            return vec![];
        }
    };
    let name = strip_controls(call.driver_name.as_deref().unwrap_or(""));
    app.info(format!("{what}: {name} keeps their attempts and can be called again."));
    if app.live.as_ref().is_some_and(|l| l.call.id == call.id) {
        app.live = None;
    }
    // A manual call ended with e, then cancelled: its wrap-up is owed no more.
    super::wrapup::forget_wrapup(app, call.id);
    app.remember(&call);
    refresh_queue_in_place(app)
}

fn on_facts(app: &mut App, call_id: i64, end: crate::domain::wrapup::CallEnd, attempts: Option<u32>) -> Vec<Effect> {
    if let Some(l) = app.live.as_mut().filter(|l| l.call.id == call_id) {
        l.end = end;
    }
    if app.wrapups.iter().any(|(c, _)| c.id == call_id) {
        // Kept for when its form opens (and the wrap-up waiting to open waits for it).
        app.ends.insert(call_id, end);
    }
    let catalog = app.catalog.clone();
    if let Some(f) = app.form_mut().filter(|f| f.call.id == call_id) {
        f.attempts = attempts;
        f.learn(end, &catalog);
    }
    vec![]
}

fn on_feedback_failed(app: &mut App, msg: &str) -> Vec<Effect> {
    super::save_retry::on_refused(app);
    if let Some(f) = app.form_mut() {
        f.saving = false;
        let retry = keys::key(Context::Feedback, Command::SaveFeedback);
        f.error = Some(format!("Not saved: {msg}. Entries kept; {retry} retries."));
    }
    app.error(format!("Feedback not saved: {msg}"));
    vec![]
}

/// A prompt's change stored (the prompt closes) or refused (it stays, with the reason).
fn on_prompt_done(app: &mut App, result: Result<String, String>) -> Vec<Effect> {
    match (result, &mut app.modal) {
        (Ok(what), _) => {
            if matches!(app.modal, Some(super::state::Modal::Prompt(_))) {
                app.modal = None;
            }
            app.info(what);
            refresh_queue_in_place(app)
        }
        (Err(why), Some(super::state::Modal::Prompt(p))) => {
            p.saving = false;
            p.error = Some(why);
            vec![]
        }
        (Err(why), _) => {
            app.error(why);
            vec![]
        }
    }
}

fn on_startup(
    app: &mut App,
    wrapups: Vec<(CallLog, Option<FeedbackDraft>)>,
    live: Option<CallLog>,
    recent: Vec<CallLog>,
    resave: &[i64],
) -> Vec<Effect> {
    app.recent = recent.into_iter().take(RECENT_CALLS).collect();
    if let Some(call) = live {
        let kind = CallKind::of(&call);
        app.live = Some(LiveCall::new(call, kind));
    }
    app.wrapups = wrapups.into();
    let mut fx = Vec::new();
    if let Some((call, _)) = app.wrapups.front() {
        let when = call.created_at.with_timezone(&app.tz).format("%d %b %H:%M");
        let name = strip_controls(call.driver_name.as_deref().unwrap_or("a driver"));
        app.info(format!("Unfinished wrap-up reopened: {name}, called {when}"));
        fx.extend(open_unasked(app));
    }
    fx.extend(super::save_retry::resume_requested(app, resave));
    fx.extend(reload_queue(app));
    if let Some(l) = &app.live {
        fx.push(Effect::LoadTimeline(l.call.id));
    }
    fx
}

/// The store's view replaces what the console believed about its live call and wrap-ups; the form
/// on screen keeps what the agent typed. In order: wrap-ups saved elsewhere go, the live call is
/// taken from the store, the wrap-ups listed are taken in, and a new one may open by itself.
fn on_resynced(
    app: &mut App,
    live: Option<CallLog>,
    wrapups: Vec<(CallLog, Option<FeedbackDraft>)>,
    asked_at: chrono::DateTime<chrono::Utc>,
) -> Vec<Effect> {
    let on_screen = app.form().map(|f| f.call.id);
    forget_saved_elsewhere(app, &wrapups, on_screen, asked_at);
    let mut fx = resync_live(app, live);
    let found_new = take_wrapups(app, wrapups, on_screen, &mut fx);
    // Only a wrap-up the console did not know of opens by itself (one put aside stays aside),
    // under the same rules as one whose call just ended: when nothing is in the way.
    if let Some(id) = found_new
        && app.auto_open.is_none()
        && app.form().is_none()
    {
        let facts_by = super::wrapup::facts_by(app, id);
        app.auto_open = Some(super::state::AutoOpen { call_id: id, facts_by });
    }
    fx
}

/// A waiting wrap-up the store no longer lists was saved elsewhere (the old app, another
/// console): it goes, unless its call changed after the store was asked (a webhook that came
/// meanwhile; then the next resync decides).
fn forget_saved_elsewhere(
    app: &mut App,
    wrapups: &[(CallLog, Option<FeedbackDraft>)],
    on_screen: Option<i64>,
    asked_at: chrono::DateTime<chrono::Utc>,
) {
    let listed: HashSet<i64> = wrapups.iter().map(|(c, _)| c.id).collect();
    let live_id = app.live.as_ref().filter(|l| l.in_progress()).map(|l| l.call.id);
    let gone: Vec<CallLog> = app
        .wrapups
        .iter()
        .map(|(c, _)| c)
        .filter(|c| !listed.contains(&c.id) && Some(c.id) != on_screen && Some(c.id) != live_id)
        .filter(|c| c.updated_at.is_some_and(|u| u + chrono::Duration::seconds(2) < asked_at))
        .cloned()
        .collect();
    for c in &gone {
        super::wrapup::forget_wrapup(app, c.id);
    }
}

/// The live call as the store has it; its timeline is read again when it changed.
fn resync_live(app: &mut App, live: Option<CallLog>) -> Vec<Effect> {
    let mut fx = Vec::new();
    match (live, app.live.as_mut()) {
        (Some(call), Some(l)) if l.call.id == call.id => {
            if l.call != call {
                l.call = call;
                fx.push(Effect::LoadTimeline(l.call.id));
            }
        }
        (Some(call), _) => {
            let id = call.id;
            app.live = Some(LiveCall::new(call.clone(), CallKind::of(&call)));
            fx.push(Effect::LoadTimeline(id));
        }
        // The call we showed as live has ended meanwhile: its wrap-up is among `wrapups`.
        // (A manual call the agent ended stays shown until its wrap-up is saved.)
        (None, Some(l)) if l.in_progress() => app.live = None,
        (None, _) => {}
    }
    fx
}

/// Takes in the wrap-ups the store lists: the form on screen and those already waiting get the
/// stored call, a new one waits (its facts read). Returns the first new one.
fn take_wrapups(
    app: &mut App,
    wrapups: Vec<(CallLog, Option<FeedbackDraft>)>,
    on_screen: Option<i64>,
    fx: &mut Vec<Effect>,
) -> Option<i64> {
    let mut found_new: Option<i64> = None;
    let live_now = app.live.as_ref().filter(|l| l.call.call_status().is_live()).map(|l| l.call.id);
    for (call, draft) in wrapups {
        if Some(call.id) == live_now && call.call_status().is_live() {
            // A manual call still on the line: its wrap-up comes when the agent presses e.
            continue;
        }
        if Some(call.id) == on_screen {
            if let Some(f) = app.form_mut() {
                f.call = call;
            }
            continue;
        }
        match app.wrapups.iter_mut().find(|(c, _)| c.id == call.id) {
            Some(w) => w.0 = call,
            None => {
                app.remember(&call);
                found_new = found_new.or(Some(call.id));
                fx.push(Effect::LoadFacts(call.id));
                app.wrapups.push_back((call, draft));
            }
        }
    }
    found_new
}

fn on_placed(app: &mut App, call: CallLog, kind: CallKind) -> Vec<Effect> {
    app.dialing = false;
    app.last_kind = kind;
    let name = strip_controls(call.driver_name.as_deref().unwrap_or(""));
    match kind {
        CallKind::Telecmi => {
            app.info(format!("Calling {name}. Your phone will ring shortly. Answer to connect with the driver."));
        }
        CallKind::Manual => {
            let mobile = crate::domain::phone::readable(call.driver_mobile.as_deref().unwrap_or_default());
            let end = keys::key(Context::Queue, Command::EndCall);
            app.info(format!("Manual call: dial {mobile} for {name} now; press {end} when the call ends."));
        }
    }
    let id = call.id;
    app.live = Some(LiveCall::new(call, kind));
    // The attempt count changed: show it.
    let mut fx = refresh_queue_in_place(app);
    fx.push(Effect::LoadTimeline(id));
    fx
}
