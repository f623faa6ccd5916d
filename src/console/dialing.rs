//! Placing a call from the console: the guards every path obeys (Enter on the queue and "save and
//! call next" alike), the call dialog, and the dial effect.

use super::action::Effect;
use super::state::{App, CallDialog, LiveCall, Modal};
use crate::coord::dialer::CallKind;
use crate::domain::Closed;
use crate::domain::text::strip_controls;
use crate::store::QueueEntry;
use crate::tui::keys::{self, Command, Context};

/// Why `driver` may not be called now, if their calling window is closed (`CALLING_HOURS` in
/// their zone, read at the console's clock). The dialer checks again before dialing.
pub fn closed_for(app: &App, driver: &QueueEntry) -> Option<Closed> {
    app.catalog.schedule.check(app.now, driver.timezone.as_deref()).err()
}

fn live_call_in_progress(app: &App) -> Option<&LiveCall> {
    app.live.as_ref().filter(|l| l.in_progress())
}

/// Why no call may start now, if none may: a break, one already being dialed, one still in
/// progress.
pub(super) fn dial_guard(app: &App) -> Option<String> {
    if let Some(why) = super::breaks::refusal(app) {
        return Some(why);
    }
    if app.dialing {
        return Some("Already dialing…".into());
    }
    live_call_in_progress(app).map(|l| {
        let name = strip_controls(l.call.driver_name.as_deref().unwrap_or(""));
        let end = keys::key(Context::Queue, Command::EndCall);
        format!("A call to {name} is still in progress; press {end} when it ends.")
    })
}

/// Why `driver_id` may not be called now because a call to them still waits for its outcome on
/// this console (on screen or put aside), naming the call and the key that opens its wrap-up.
/// The store refuses the same for every path (another console, the API).
pub(super) fn owed_wrapup(app: &App, driver_id: &str) -> Option<String> {
    let owed = |c: &&crate::domain::CallLog| {
        c.driver_id.as_deref() == Some(driver_id) && c.feedback.as_deref().is_none_or(|f| f.trim().is_empty())
    };
    let on_screen = app.form().map(|f| &f.call).filter(owed);
    let aside = app.wrapups.iter().map(|(c, _)| c).find(owed);
    let call = on_screen.or(aside)?;
    let name = strip_controls(call.driver_name.as_deref().unwrap_or("this driver"));
    let at = call.created_at.with_timezone(&app.tz).format("%H:%M");
    let open = if on_screen.is_some() {
        "save the wrap-up on screen first".to_string()
    } else {
        let key = keys::key(Context::Global, Command::ReopenWrapup);
        format!("press {key} to finish its wrap-up first")
    };
    // Short enough for one line at 120 columns.
    Some(format!("Not calling {name}: call #{} ({at}, {}) has no outcome yet; {open}.", call.id, call.call_status()))
}

/// Opens the call dialog for `driver` (default: the driver in front of the agent) if the guards
/// allow a call now, and asks for the driver's last call. Returns whether it opened.
pub(super) fn try_open_call_dialog(app: &mut App, driver: Option<QueueEntry>, fx: &mut Vec<Effect>) -> bool {
    if let Some(why) = dial_guard(app) {
        app.error(why);
        return false;
    }
    let Some(driver) = driver.or_else(|| super::finder::driver_to_call(app)) else {
        if app.screen == super::state::Screen::Queue && app.modal.is_none() {
            app.info("The queue is empty: nobody is due to be called.");
        } else {
            app.info("Select a driver to call first.");
        }
        return false;
    };
    if let Some(why) = owed_wrapup(app, &driver.driver_id) {
        app.error(why);
        return false;
    }
    let highlighted = if app.me.telecmi_refusal.is_none() { app.last_kind } else { CallKind::Manual };
    fx.push(Effect::LoadLastCall(driver.driver_id.clone()));
    fx.push(Effect::CheckDoNotCall { driver_id: driver.driver_id.clone(), mobile: driver.mobile.clone() });
    app.modal = Some(Modal::CallDialog(Box::new(CallDialog { driver, highlighted, last: None, do_not_call: None })));
    true
}

pub(super) fn open_call_dialog(app: &mut App) -> Vec<Effect> {
    let mut fx = Vec::new();
    try_open_call_dialog(app, None, &mut fx);
    fx
}

/// Places the kind of call chosen in the open dialog.
pub(super) fn dial(app: &mut App, kind: CallKind) -> Vec<Effect> {
    let Some(Modal::CallDialog(d)) = &app.modal else { return vec![] };
    if let Some(entry) = &d.do_not_call {
        // Known already: say so here. (Before the check arrives, the dialer refuses the same way.)
        let why = entry.refusal(app.tz);
        app.error(why);
        return vec![];
    }
    if let Some(why) = owed_wrapup(app, &d.driver.driver_id) {
        // A call to them ended while the dialog was open.
        app.error(why);
        return vec![];
    }
    if let Some(closed) = closed_for(app, &d.driver) {
        // The dialog stays open and shows why; nothing is dialed, TeleCMI or by hand.
        app.error(closed.message());
        return vec![];
    }
    if kind == CallKind::Telecmi
        && let Some(reason) = &app.me.telecmi_refusal
    {
        let reason = reason.clone();
        let manual = keys::key(Context::CallDialog, Command::DialManual);
        app.error(format!("TeleCMI IVR unavailable: {reason} Choose {manual} for a manual call."));
        return vec![];
    }
    let driver_id = d.driver.driver_id.clone();
    let name = strip_controls(&d.driver.name);
    app.modal = None;
    app.dialing = true;
    app.last_kind = kind;
    app.info(match kind {
        CallKind::Telecmi => format!("Asking TeleCMI to call {name}…"),
        CallKind::Manual => format!("Logging a manual call to {name}…"),
    });
    vec![Effect::Dial { driver_id, kind }]
}

/// The "Saved …" line on screen (what became of the driver just saved), to keep in front of what
/// "save and call next" says next.
fn saved_notice(app: &App) -> String {
    app.notice.as_ref().map(|n| n.text.clone()).filter(|t| t.starts_with("Saved")).unwrap_or_else(|| "Saved.".into())
}

/// How far down the queue "save and call next" looks for a driver whose window is open.
const CALL_NEXT_LOOKAHEAD: usize = 2_000;

/// After the queue reloads following "save and call next", call the driver now selected, the
/// same way as last time, through the same guards as a call started by hand.
pub(super) fn after_queue_loaded(app: &mut App) -> Vec<Effect> {
    if !std::mem::take(&mut app.pending_call_next) {
        return vec![];
    }
    if app.modal.is_some() {
        return vec![];
    }
    if app.queue.rows.is_empty() {
        let saved = saved_notice(app);
        app.info(format!("{saved} The queue is empty: nobody else is due."));
        return vec![];
    }
    // "Next" is the first driver due whose calling window is open, whatever row the cursor
    // happened to be on; drivers waiting for their hours are passed over.
    let Some(index) = app.queue.rows.iter().position(|e| closed_for(app, e).is_none()) else {
        let q = &mut app.queue;
        if !q.exhausted && !q.loading && q.rows.len() < CALL_NEXT_LOOKAHEAD {
            // Everyone loaded is waiting for their hours: look further down the queue.
            app.pending_call_next = true;
            q.loading = true;
            return vec![Effect::LoadQueue {
                generation: q.generation,
                after: q.rows.last().map(|r| r.cursor()),
                filter: q.filter_text(),
                limit: super::lists::PAGE,
            }];
        }
        let opening = app.queue.rows.iter().filter_map(|e| closed_for(app, e)).min_by_key(|c| c.opens_at);
        let saved = saved_notice(app);
        app.info(match opening {
            Some(c) => format!(
                "{saved} Nobody due can be called now: outside calling hours ({}); the first window opens at {}.",
                c.hours,
                c.opening()
            ),
            None => format!("{saved} Nobody else can be called now."),
        });
        return vec![];
    };
    app.queue.selected = index;
    app.queue.offset = index.saturating_sub(2);
    let first = app.queue.rows.get(index).cloned();
    let mut fx = Vec::new();
    if !try_open_call_dialog(app, first, &mut fx) {
        return vec![];
    }
    let kind = if app.me.telecmi_refusal.is_none() { app.last_kind } else { CallKind::Manual };
    fx.extend(dial(app, kind));
    fx
}
