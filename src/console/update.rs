//! `update`: the only place the console's state changes. Pure: no awaiting, no I/O; slow work is
//! returned as [`Effect`]s for the runner.

use chrono::{Local, Utc};
use crossterm::event::KeyEvent;
use tui_input::backend::crossterm::to_input_request;

use super::action::{Action, Effect};
use super::keys::{Command, Context, lookup};
use super::lists::{clamp_offsets, move_selection, refresh_queue_in_place, reload_call_log, reload_queue};
use super::state::{App, CallDialog, Field, LiveCall, Modal, RECENT_CALLS, Screen};
use super::wrapup::{after_queue_loaded, end_call, on_call_updated, on_form_key, on_saved, open_next_wrapup, save};
use crate::dialer::CallKind;
use crate::domain::CallStatus;
use crate::domain::text::strip_controls;

/// Rows fetched per page of the queue and the call log.
pub const PAGE: u32 = 200;
/// Screen lines that are not list rows: status bar, notice, footer, borders, header.
const CHROME_ROWS: u16 = 6;

/// Applies `action` to `app`, returning the slow work to start.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(key) => on_key(app, key),
        Action::Command(cmd) => on_command(app, cmd),
        Action::Tick(now) => on_tick(app, now),
        Action::Resize { height, .. } => {
            app.page_rows = usize::from(height.saturating_sub(CHROME_ROWS).max(1));
            clamp_offsets(app);
            vec![]
        }
        Action::StartupLoaded { wrapups, live, recent } => {
            app.recent = recent.into_iter().take(RECENT_CALLS).collect();
            if let Some(call) = live {
                let kind = CallKind::of(&call);
                app.live = Some(LiveCall { call, kind, events: vec![] });
            }
            app.wrapups = wrapups.into();
            if let Some((call, _)) = app.wrapups.front() {
                let when = call.created_at.with_timezone(&app.tz).format("%d %b %H:%M");
                let name = strip_controls(call.driver_name.as_deref().unwrap_or("a driver"));
                app.info(format!("Unfinished wrap-up reopened: {name}, called {when}"));
                open_next_wrapup(app);
            }
            let mut fx = reload_queue(app);
            if let Some(l) = &app.live {
                fx.push(Effect::LoadTimeline(l.call.id));
            }
            fx
        }
        Action::QueueLoaded { generation, append, rows, due, total, limit } => {
            if generation != app.queue.generation {
                return vec![];
            }
            let q = &mut app.queue;
            q.loading = false;
            q.exhausted = take_page(&mut q.rows, rows, append, limit);
            q.due = due;
            q.total = total;
            q.selected = q.selected.min(q.rows.len().saturating_sub(1));
            clamp_offsets(app);
            if append { vec![] } else { after_queue_loaded(app) }
        }
        Action::CallPlaced { call, kind } => {
            app.dialing = false;
            app.last_kind = kind;
            let name = strip_controls(call.driver_name.as_deref().unwrap_or(""));
            match kind {
                CallKind::Telecmi => app
                    .info(format!("Calling {name}. Your phone will ring shortly. Answer to connect with the driver.")),
                CallKind::Manual => {
                    let mobile = call.driver_mobile.clone().unwrap_or_default();
                    app.info(format!("Manual call: dial {mobile} for {name} now; press e when the call ends."));
                }
            }
            let id = call.id;
            app.live = Some(LiveCall { call, kind, events: vec![] });
            // The attempt count changed: show it.
            let mut fx = refresh_queue_in_place(app);
            fx.push(Effect::LoadTimeline(id));
            fx
        }
        Action::DialFailed { message, call } => {
            app.dialing = false;
            app.error(message);
            if let Some(call) = call {
                let id = call.id;
                let kind = CallKind::of(&call);
                app.live = Some(LiveCall { call, kind, events: vec![] });
                return vec![Effect::LoadTimeline(id)];
            }
            vec![]
        }
        Action::CallUpdated(u) => on_call_updated(app, *u),
        Action::TimelineLoaded { call_id, events } => {
            if let Some(l) = app.live.as_mut().filter(|l| l.call.id == call_id) {
                l.events = events;
            }
            vec![]
        }
        Action::FeedbackSaved { call, decision, call_next } => on_saved(app, *call, decision, call_next),
        Action::FeedbackFailed(msg) => {
            if let Some(f) = app.form_mut() {
                f.saving = false;
                f.error = Some(format!("Not saved: {msg}. Entries kept; Enter retries."));
            }
            app.error(format!("Feedback not saved: {msg}"));
            vec![]
        }
        Action::CallLogLoaded { generation, append, rows, total } => {
            if generation != app.call_log.generation {
                return vec![];
            }
            let v = &mut app.call_log;
            v.loading = false;
            v.exhausted = take_page(&mut v.rows, rows, append, PAGE);
            v.total = total;
            v.selected = v.selected.min(v.rows.len().saturating_sub(1));
            clamp_offsets(app);
            vec![]
        }
        Action::StatsLoaded(s) => {
            app.stats = Some(*s);
            vec![]
        }
        Action::StoreFailed(msg) => {
            app.queue.loading = false;
            app.call_log.loading = false;
            app.error(msg);
            vec![]
        }
    }
}

/// Takes a page of `asked` rows into a list (after its last row, or instead of it); returns
/// whether the list has no more rows to load.
fn take_page<T>(rows: &mut Vec<T>, page: Vec<T>, append: bool, asked: u32) -> bool {
    let exhausted = page.len() < asked as usize;
    if append {
        rows.extend(page);
    } else {
        *rows = page;
    }
    exhausted
}

fn on_tick(app: &mut App, now: chrono::DateTime<Utc>) -> Vec<Effect> {
    let before = app.now;
    app.now = now;
    let mut fx = Vec::new();
    let caller = app.me.caller_id;
    let catalog = app.catalog.clone();
    if let Some(f) = app.form_mut().filter(|f| f.dirty && !f.saving) {
        f.dirty = false;
        fx.push(Effect::SaveDraft(f.draft(caller, &catalog)));
    }
    // Callbacks fall due as time passes: look again every half minute.
    if now.timestamp() / 30 != before.timestamp() / 30 && !app.queue.filtering && app.modal.is_none() {
        fx.extend(refresh_queue_in_place(app));
    }
    fx
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match &app.modal {
        Some(Modal::Help) => lookup(&[Context::Help], &key).map_or_else(Vec::new, |c| on_command(app, c)),
        Some(Modal::CallDialog(_)) => {
            lookup(&[Context::CallDialog], &key).map_or_else(Vec::new, |c| on_command(app, c))
        }
        Some(Modal::Feedback(_)) => on_form_key(app, key),
        None if app.queue.filtering => {
            if let Some(cmd) = lookup(&[Context::Filter], &key) {
                return on_command(app, cmd);
            }
            let event = crossterm::event::Event::Key(key);
            match to_input_request(&event) {
                Some(req) => {
                    app.queue.filter.handle(req);
                    reload_queue(app)
                }
                None => vec![],
            }
        }
        None => {
            let screen_ctx = match app.screen {
                Screen::Queue => Context::Queue,
                Screen::CallLog => Context::CallLog,
                Screen::Stats => Context::Global,
            };
            lookup(&[screen_ctx, Context::Global], &key).map_or_else(Vec::new, |c| on_command(app, c))
        }
    }
}

pub(super) fn on_command(app: &mut App, cmd: Command) -> Vec<Effect> {
    use Command::*;
    match cmd {
        SelectNext | SelectPrev | PageDown | PageUp | First | Last => move_selection(app, cmd),
        ShowQueue => {
            app.screen = Screen::Queue;
            reload_queue(app)
        }
        ShowCallLog => {
            app.screen = Screen::CallLog;
            reload_call_log(app)
        }
        ShowStats => {
            app.screen = Screen::Stats;
            vec![Effect::LoadStats]
        }
        Refresh => match app.screen {
            Screen::Queue => refresh_queue_in_place(app),
            Screen::CallLog => reload_call_log(app),
            Screen::Stats => vec![Effect::LoadStats],
        },
        Help => {
            app.modal = Some(Modal::Help);
            vec![]
        }
        Quit => {
            app.quit = true;
            let caller = app.me.caller_id;
            let catalog = app.catalog.clone();
            app.form().map(|f| vec![Effect::SaveDraft(f.draft(caller, &catalog))]).unwrap_or_default()
        }
        OpenCallDialog => open_call_dialog(app),
        StartFilter => {
            app.queue.filtering = true;
            vec![]
        }
        ClearFilter => {
            app.queue.filtering = false;
            if app.queue.filter.value().is_empty() {
                return vec![];
            }
            app.queue.filter.reset();
            reload_queue(app)
        }
        EndCall => end_call(app),
        ReopenWrapup => {
            if app.wrapups.is_empty() {
                app.info("No wrap-up is waiting.");
                return vec![];
            }
            open_next_wrapup(app);
            vec![]
        }
        DialTelecmi => dial(app, CallKind::Telecmi),
        DialManual => dial(app, CallKind::Manual),
        Confirm => match &app.modal {
            Some(Modal::CallDialog(d)) => {
                let kind = d.highlighted;
                dial(app, kind)
            }
            _ => {
                app.queue.filtering = false;
                vec![]
            }
        },
        Close => {
            if let Some(Modal::Feedback(f)) = app.modal.take() {
                let caller = app.me.caller_id;
                let draft = f.draft(caller, &app.catalog);
                if !app.wrapups.iter().any(|(c, _)| c.id == f.call.id) {
                    app.wrapups.push_front((f.call.clone(), Some(draft.clone())));
                } else if let Some(w) = app.wrapups.iter_mut().find(|(c, _)| c.id == f.call.id) {
                    w.1 = Some(draft.clone());
                }
                app.info("Wrap-up put aside and kept; press w to finish it.");
                return vec![Effect::SaveDraft(draft)];
            }
            app.modal = None;
            vec![]
        }
        SaveFeedback => save(app, false),
        SaveAndCallNext => save(app, true),
        NextField | PrevField => {
            if let Some(f) = app.form_mut() {
                let order: &[Field] = if f.manual {
                    &[Field::Outcome, Field::Remarks, Field::Duration]
                } else {
                    &[Field::Outcome, Field::Remarks]
                };
                let i = order.iter().position(|x| *x == f.focus).unwrap_or(0);
                let n = order.len();
                f.focus = order[if cmd == NextField { (i + 1) % n } else { (i + n - 1) % n }];
            }
            vec![]
        }
        CycleStatusFilter => {
            let all: Vec<Option<String>> =
                std::iter::once(None).chain(CallStatus::ALL.iter().map(|s| Some(s.as_str().to_string()))).collect();
            let i = all.iter().position(|s| *s == app.call_log.status).unwrap_or(0);
            app.call_log.status = all[(i + 1) % all.len()].clone();
            reload_call_log(app)
        }
        CycleFeedbackFilter => {
            let n = app.catalog.all().len();
            app.call_log.feedback = match app.call_log.feedback {
                None => Some(0),
                Some(i) if i + 1 < n => Some(i + 1),
                Some(_) => None,
            };
            reload_call_log(app)
        }
        CycleDateFilter => {
            app.call_log.range = app.call_log.range.next();
            reload_call_log(app)
        }
    }
}

fn live_call_in_progress(app: &App) -> Option<&LiveCall> {
    app.live.as_ref().filter(|l| l.call.call_status().is_live())
}

fn open_call_dialog(app: &mut App) -> Vec<Effect> {
    if app.dialing {
        app.info("Already dialing…");
        return vec![];
    }
    if let Some(l) = live_call_in_progress(app) {
        let name = strip_controls(l.call.driver_name.as_deref().unwrap_or(""));
        app.error(format!("A call to {name} is still in progress; press e when it ends."));
        return vec![];
    }
    let Some(driver) = app.queue.selected_entry().cloned() else {
        app.info("The queue is empty: nobody is due to be called.");
        return vec![];
    };
    let highlighted = if app.me.telecmi_refusal.is_none() { app.last_kind } else { CallKind::Manual };
    app.modal = Some(Modal::CallDialog(CallDialog { driver, highlighted }));
    vec![]
}

pub(super) fn dial(app: &mut App, kind: CallKind) -> Vec<Effect> {
    let Some(Modal::CallDialog(d)) = &app.modal else { return vec![] };
    if kind == CallKind::Telecmi
        && let Some(reason) = &app.me.telecmi_refusal
    {
        let reason = reason.clone();
        app.error(format!("TeleCMI IVR unavailable: {reason} Choose m for a manual call."));
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

/// Local time zone offset now (fixed for the session).
pub fn local_offset() -> chrono::FixedOffset {
    *Local::now().offset()
}
