//! Runs [`Effect`]s off the UI path and reports each result back as an [`Action`].

use chrono::{Duration, Utc};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use super::action::{Action, Effect};
use super::state::Progress;
use super::state::RECENT_CALLS;
use super::update::PAGE;
use crate::coord::bus::{CallUpdate, Source, publish};
use crate::coord::dialer::{CallKind, DialError, Dialer};
use crate::domain::FeedbackCatalog;
use crate::domain::hours::start_of_day;
use crate::domain::wrapup::classify;
use crate::store::{CallFilter, CallPage, FeedbackDraft, Store};

pub use super::drafts::DraftWriter;

/// What effects need: the store, the dialer and who this console is.
#[derive(Clone)]
pub struct EffectCtx {
    pub store: Store,
    pub dialer: Dialer,
    pub catalog: FeedbackCatalog,
    pub caller_id: i64,
    pub tz: chrono_tz::Tz,
    /// The newest draft to write; one writer stores them in order, the latest winning.
    pub drafts: DraftWriter,
    /// Held by the wrap-up save on its way to the database: one at a time.
    pub saves: SaveGate,
}

/// One wrap-up save at a time. A save the database does not answer is left to finish on its
/// own, never cut short (a transaction dropped mid-way leaves its connection to be cleaned up
/// later); the next try waits until it has.
pub type SaveGate = std::sync::Arc<tokio::sync::Mutex<()>>;

/// Starts `effect` in `inflight` (a quit waits for it); its result arrives on `tx`.
pub fn spawn(ctx: &EffectCtx, effect: Effect, tx: &UnboundedSender<Action>, inflight: &mut JoinSet<()>) {
    if let Effect::SaveDraft(d) = effect {
        ctx.drafts.send(d);
        return;
    }
    let ctx = ctx.clone();
    let tx = tx.clone();
    inflight.spawn(async move {
        let action = run(&ctx, effect).await;
        if let Some(a) = action {
            let _ = tx.send(a);
        }
    });
}

fn ids(calls: &[crate::domain::CallLog]) -> Vec<i64> {
    calls.iter().map(|c| c.id).collect()
}

/// Which of `calls` were recorded; a failed read shows none marked rather than no screen.
async fn recorded_or_none(store: &Store, calls: &[crate::domain::CallLog]) -> std::collections::HashSet<i64> {
    store.recorded_among(&ids(calls)).await.unwrap_or_else(|e| {
        tracing::warn!("could not read which calls were recorded: {e}");
        std::collections::HashSet::new()
    })
}

/// Runs one effect to completion: a flat dispatch, one line per effect, to the function that
/// runs it (grouped below by concern: start-up and resync, lists, calls, the wrap-up, the driver,
/// the agent).
pub async fn run(ctx: &EffectCtx, effect: Effect) -> Option<Action> {
    let (store, me) = (&ctx.store, ctx.caller_id);
    match effect {
        Effect::LoadStartup => load_startup(ctx).await,
        Effect::Resync => resync(ctx).await,
        Effect::LoadQueue { generation, after, filter, limit } => {
            load_queue(ctx, generation, after, filter, limit).await
        }
        Effect::LoadCallLog { generation, filter, before } => load_call_log(store, generation, filter, before).await,
        Effect::Search { generation, query } => search(ctx, generation, query).await,
        Effect::LoadUpcoming { generation, after } => load_upcoming(ctx, generation, after).await,
        Effect::LoadCard(driver_id) => load_card(store, driver_id).await,
        Effect::LoadLastCall(driver_id) => load_last_call(store, driver_id).await,
        Effect::Dial { driver_id, kind } => dial(ctx, &driver_id, kind).await,
        Effect::LoadTimeline(id) => load_timeline(store, id).await,
        Effect::LoadFacts(id) => load_facts(store, id).await,
        Effect::MarkNotPlaced(id) => mark_not_placed(ctx, id).await,
        Effect::CancelDial(id) => Some(Action::DialCancelled(cancel_dial(ctx, id).await)),
        Effect::CheckDoNotCall { driver_id, mobile } => check_do_not_call(ctx, driver_id, mobile).await,
        Effect::SaveDraft(d) => save_draft(ctx, d).await,
        Effect::SaveNotRequested(id) => {
            ctx.drafts.save_refused(id);
            None
        }
        Effect::Submit { feedback, call_next, retry } => submit(ctx, feedback, call_next, retry).await,
        Effect::AddRemarks { call_id, remarks } => add_remarks(ctx, call_id, &remarks).await,
        Effect::EditDriver { driver_id, name, mobile } => {
            Some(Action::PromptDone(edit_driver(ctx, &driver_id, name, mobile).await))
        }
        Effect::Reschedule { driver_id, due_at, what } => {
            Some(Action::PromptDone(moved(store.reschedule(&driver_id, me, due_at).await, what)))
        }
        Effect::Snooze { driver_id, until, what } => {
            Some(Action::PromptDone(moved(store.snooze(&driver_id, me, until).await, what)))
        }
        Effect::LoadStats => loaded(
            store.stats_bundle(Some(me), ctx.tz, Utc::now()).await,
            |s| Action::StatsLoaded(Box::new(s)),
            "Could not load statistics",
        ),
        Effect::LoadPresence => {
            loaded(store.presence(me).await, Action::PresenceLoaded, "Could not read your break state")
        }
        Effect::SavePresence { presence, at } => save_presence(ctx, &presence, at).await,
        Effect::LoadProgress => loaded(
            load_progress(store, me, ctx.tz, &ctx.catalog).await,
            Action::ProgressLoaded,
            "Could not read today's progress",
        ),
    }
}

/// A store failure as the action the screen shows, `what` first.
fn failed(what: &str, e: crate::store::StoreError) -> Option<Action> {
    Some(Action::StoreFailed(format!("{what}: {e}")))
}

/// A read's result as an action: `ok` of what was read, or the failure with `what` first.
fn loaded<T>(r: crate::store::Result<T>, ok: impl FnOnce(T) -> Action, what: &str) -> Option<Action> {
    match r {
        Ok(v) => Some(ok(v)),
        Err(e) => failed(what, e),
    }
}

// --- Start-up and resync ---------------------------------------------------------------------

async fn load_startup(ctx: &EffectCtx) -> Option<Action> {
    let (store, me) = (&ctx.store, ctx.caller_id);
    let now = Utc::now();
    let wrapups = match store.unfinished_wrapups(me, now - Duration::days(7)).await {
        Ok(w) => w,
        Err(e) => return failed("Could not load unfinished wrap-ups", e),
    };
    let (wrapups, resave) = ctx.drafts.reopen(store, me, wrapups).await;
    let live = match store.live_calls(Some(me)).await {
        // Only a call from the last hours is "in progress"; older ones wait as wrap-ups.
        Ok(l) => l.into_iter().find(|c| now - c.created_at < crate::store::ABANDONED_AFTER),
        Err(e) => return failed("Could not load live calls", e),
    };
    let filter = CallFilter { caller_id: Some(me), ..CallFilter::default() };
    let recent = match store.list_calls(&filter, CallPage { before_id: None, offset: None, limit: 20 }).await {
        Ok(r) => r.into_iter().filter(|c| c.call_status().is_final()).take(RECENT_CALLS).collect(),
        Err(e) => return failed("Could not load recent calls", e),
    };
    Some(Action::StartupLoaded { wrapups, live, recent, resave })
}

async fn resync(ctx: &EffectCtx) -> Option<Action> {
    let (store, me) = (&ctx.store, ctx.caller_id);
    let now = Utc::now();
    let asked_at = now;
    let wrapups = store.unfinished_wrapups(me, now - Duration::days(7)).await;
    let live = store.live_calls(Some(me)).await;
    match (wrapups, live) {
        (Ok(wrapups), Ok(live)) => {
            let live = live.into_iter().find(|c| now - c.created_at < crate::store::ABANDONED_AFTER);
            Some(Action::Resynced { live, wrapups, asked_at })
        }
        (Err(e), _) | (_, Err(e)) => failed("Could not re-read your calls", e),
    }
}

// --- Lists: queue, call log, search, upcoming, the card ---------------------------------------

async fn load_queue(
    ctx: &EffectCtx,
    generation: u64,
    after: Option<crate::store::QueueCursor>,
    filter: Option<String>,
    limit: u32,
) -> Option<Action> {
    let (store, me) = (&ctx.store, ctx.caller_id);
    let now = Utc::now();
    let rows = store.due_queue(me, now, &ctx.catalog.schedule, after.as_ref(), limit, filter.as_deref()).await;
    if after.is_some() {
        return match rows {
            Ok(rows) => Some(Action::QueuePage { generation, rows, limit }),
            Err(e) => failed("Could not load the queue", e),
        };
    }
    let counts = store.queue_counts(me, now).await;
    match (rows, counts) {
        (Ok(rows), Ok((due, total))) => {
            Some(Action::QueueLoaded { generation, append: false, rows, due, total, limit })
        }
        (Err(e), _) | (_, Err(e)) => failed("Could not load the queue", e),
    }
}

async fn load_call_log(store: &Store, generation: u64, filter: CallFilter, before: Option<i64>) -> Option<Action> {
    let rows = store.list_calls(&filter, CallPage { before_id: before, offset: None, limit: PAGE }).await;
    let total = store.count_calls(&filter).await;
    match (rows, total) {
        (Ok(rows), Ok(total)) => {
            let recorded = recorded_or_none(store, &rows).await;
            Some(Action::CallLogLoaded { generation, append: before.is_some(), rows, total, recorded })
        }
        (Err(e), _) | (_, Err(e)) => failed("Could not load the call log", e),
    }
}

async fn search(ctx: &EffectCtx, generation: u64, query: String) -> Option<Action> {
    let hits = ctx.store.search_drivers(ctx.caller_id, &query, super::finder::SEARCH_LIMIT).await;
    loaded(hits, |hits| Action::SearchLoaded { generation, hits }, "Search failed")
}

async fn load_upcoming(
    ctx: &EffectCtx,
    generation: u64,
    after: Option<(chrono::NaiveDateTime, String)>,
) -> Option<Action> {
    let append = after.is_some();
    let rows = ctx.store.upcoming(ctx.caller_id, Utc::now(), after, super::finder::UPCOMING_PAGE).await;
    loaded(rows, |rows| Action::UpcomingLoaded { generation, append, rows }, "Could not load the upcoming calls")
}

async fn load_card(store: &Store, driver_id: String) -> Option<Action> {
    match (store.driver_hit(&driver_id).await, store.driver_calls(&driver_id, super::finder::CARD_CALLS).await) {
        (Ok(hit), Ok(calls)) => {
            let recorded = recorded_or_none(store, &calls).await;
            Some(Action::CardLoaded { driver_id, hit, calls, recorded })
        }
        (Err(e), _) | (_, Err(e)) => failed("Could not load the driver card", e),
    }
}

async fn load_last_call(store: &Store, driver_id: String) -> Option<Action> {
    let calls = store.driver_calls(&driver_id, 1).await;
    loaded(
        calls,
        |calls| Action::LastCallLoaded { driver_id, call: calls.into_iter().next() },
        "Could not load the driver's last call",
    )
}

// --- Calls: dial, what became of them, cancel ------------------------------------------------

async fn dial(ctx: &EffectCtx, driver_id: &str, kind: CallKind) -> Option<Action> {
    let me = ctx.caller_id;
    match ctx.dialer.place_call(me, driver_id, None, kind).await {
        Ok(call) => Some(Action::CallPlaced { call, kind }),
        Err(DialError::Provider { message, call }) => Some(Action::DialFailed { message, call: Some(*call) }),
        Err(DialError::Unconfirmed { message, call }) => Some(Action::DialUnconfirmed { message, call: *call }),
        Err(DialError::WrapupOwed { message, call }) => {
            // The store knew of a wrap-up this console did not show: the agent's own is
            // brought here by a resync (the result asks for one).
            let message = if call.caller_id == Some(me) {
                let key =
                    crate::tui::keys::key(crate::tui::keys::Context::Global, crate::tui::keys::Command::ReopenWrapup);
                format!("{message} Press {key} to open it.")
            } else {
                message
            };
            Some(Action::DialFailed { message, call: None })
        }
        Err(e) => Some(Action::DialFailed { message: e.to_string(), call: None }),
    }
}

async fn load_timeline(store: &Store, id: i64) -> Option<Action> {
    loaded(
        store.call_events(id).await,
        |events| Action::TimelineLoaded { call_id: id, events },
        "Could not load the call's timeline",
    )
}

async fn mark_not_placed(ctx: &EffectCtx, id: i64) -> Option<Action> {
    Some(Action::MarkedNotPlaced(ctx.dialer.mark_not_placed(ctx.caller_id, id).await.map_err(|e| e.to_string())))
}

/// How the call ended, for the wrap-up: its status as TeleCMI's reports gave it, the legs'
/// reports and the driver's attempts.
async fn load_facts(store: &Store, id: i64) -> Option<Action> {
    let call = match store.call(id).await {
        Ok(Some(c)) => c,
        Ok(None) => return None,
        Err(e) => return failed("Could not read how the call ended", e),
    };
    // A status calldesk set itself (the ceiling) says nothing of how the call went: read
    // the one TeleCMI's reports had given it.
    let status = match store.provisional(id).await {
        Ok(Some(p)) => p.prior_status.parse().unwrap_or(call.call_status()),
        Ok(None) => call.call_status(),
        Err(e) => return failed("Could not read how the call ended", e),
    };
    let attempts = attempts_of(store, call.driver_id.as_deref()).await;
    match store.leg_reports(id).await {
        Ok(reports) => {
            let manual = CallKind::of(&call) == CallKind::Manual;
            Some(Action::FactsLoaded { call_id: id, end: classify(status, manual, &reports), attempts })
        }
        Err(e) => failed("Could not read how the call ended", e),
    }
}

/// The driver's attempts as the save counts them: a driver no longer queued is on their first
/// attempt. A failed read only loses the warning, never the facts.
async fn attempts_of(store: &Store, driver_id: Option<&str>) -> Option<u32> {
    match store.queue_attempts(driver_id?).await {
        Ok(a) => u32::try_from(a.map_or(1, |a| a.max(1))).ok(),
        Err(e) => {
            tracing::warn!("could not read the driver's attempts: {e}");
            None
        }
    }
}

async fn cancel_dial(ctx: &EffectCtx, id: i64) -> Result<crate::domain::CallLog, String> {
    match ctx.store.cancel_dial(id, ctx.caller_id, Utc::now()).await {
        Ok(Some(call)) => {
            publish(&ctx.dialer.bus, CallUpdate::new(call.clone(), Source::Dial));
            Ok(call)
        }
        Ok(None) => Err("That call is over or not yours: nothing to cancel.".into()),
        Err(e) => Err(format!("Not cancelled: {e}")),
    }
}

async fn check_do_not_call(ctx: &EffectCtx, driver_id: String, mobile: String) -> Option<Action> {
    let entry = ctx.dialer.do_not_call(&driver_id, &mobile).await;
    loaded(entry, |entry| Action::DoNotCallChecked { driver_id, entry }, "Could not check the do-not-call list")
}

// --- The wrap-up ------------------------------------------------------------------------------

async fn save_draft(ctx: &EffectCtx, d: FeedbackDraft) -> Option<Action> {
    // Through the writer, so it cannot be overtaken by an older draft still in flight.
    let seq = ctx.drafts.send(d);
    ctx.drafts.flushed(seq, std::time::Duration::from_secs(3)).await;
    None
}

/// How long a save may take before it counts as waiting for the database (a paused server holds
/// the connection open and answers nothing). The save goes on by itself; if it commits once the
/// database answers, the next try finds the outcome saved and says so
/// ([`crate::store::StoreError::AlreadySaved`]).
const SAVE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a waiting save's question "does the database answer?" may take.
const PING_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Saves the wrap-up's outcome. A save that fails for want of the database is reported as
/// waiting (tried again by itself), one refused by a rule as failed. A `retry` first asks
/// whether the database answers, so a database still away costs one ping, not a transaction.
async fn submit(
    ctx: &EffectCtx,
    feedback: crate::store::SubmitFeedback,
    call_next: bool,
    retry: bool,
) -> Option<Action> {
    // The save waits: the local draft file says it was asked for, so a console started after
    // this one closes makes it (the draft there is the form's; this one only if it has none).
    let waiting = |why: String| {
        ctx.drafts.save_requested(feedback.call_id, draft_of(&feedback, ctx.caller_id));
        Some(Action::FeedbackWaiting { call_id: feedback.call_id, feedback: feedback.clone(), why })
    };
    if retry {
        match tokio::time::timeout(PING_WAIT, ctx.store.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return waiting(e.to_string()),
            Err(_) => return waiting("the database did not answer".into()),
        }
    }
    let Ok(gate) = ctx.saves.clone().try_lock_owned() else {
        return waiting("the last try has had no answer yet".into());
    };
    let (store, catalog, sent) = (ctx.store.clone(), ctx.catalog.clone(), feedback.clone());
    let attempt = tokio::spawn(async move {
        let _gate = gate;
        store.submit_first_feedback(&sent, &catalog, Utc::now()).await
    });
    match tokio::time::timeout(SAVE_WAIT, attempt).await {
        Ok(Ok(Ok((call, decision)))) => {
            ctx.drafts.forget(call.id);
            publish(&ctx.dialer.bus, CallUpdate::new(call.clone(), Source::Feedback));
            Some(Action::FeedbackSaved { call: Box::new(call), decision, call_next })
        }
        Ok(Ok(Err(crate::store::StoreError::AlreadySaved(call)))) => Some(Action::FeedbackAlreadySaved(call)),
        Ok(Ok(Err(e))) if e.is_unavailable() => waiting(e.to_string()),
        Ok(Ok(Err(e))) => {
            ctx.drafts.save_refused(feedback.call_id);
            Some(Action::FeedbackFailed(e.to_string()))
        }
        Ok(Err(e)) => waiting(format!("the save stopped: {e}")),
        Err(_) => waiting(format!("the database did not answer within {} s", SAVE_WAIT.as_secs())),
    }
}

/// The draft a save was made of, for the local file when it holds none of the call.
fn draft_of(feedback: &crate::store::SubmitFeedback, caller_id: i64) -> FeedbackDraft {
    FeedbackDraft {
        call_log_id: feedback.call_id,
        caller_id,
        feedback_group: None,
        feedback: Some(feedback.feedback.clone()),
        remarks: Some(feedback.remarks.clone()),
        call_duration: feedback.call_duration.map(|d| d.to_string()),
    }
}

async fn add_remarks(ctx: &EffectCtx, call_id: i64, remarks: &str) -> Option<Action> {
    let added = ctx.store.add_remarks(call_id, ctx.caller_id, remarks).await;
    if added.is_ok() {
        ctx.drafts.forget(call_id);
    }
    Some(Action::RemarksAdded(added.map(Box::new).map_err(|e| e.to_string())))
}

// --- The agent: break state ------------------------------------------------------------------

async fn save_presence(
    ctx: &EffectCtx,
    presence: &crate::domain::Presence,
    at: chrono::DateTime<Utc>,
) -> Option<Action> {
    match ctx.store.set_presence(ctx.caller_id, presence, at).await {
        Ok(()) => None,
        Err(e) => Some(Action::WriteFailed(format!("Could not store your break state: {e}"))),
    }
}

/// Today's (local) calls, connects and positive outcomes of one caller, with their target, and
/// the calls that never rang the driver.
pub async fn load_progress(
    store: &Store,
    me: i64,
    tz: chrono_tz::Tz,
    catalog: &FeedbackCatalog,
) -> crate::store::Result<Progress> {
    let now = Utc::now();
    let today = store.stats(Some(me), start_of_day(now, tz), now + Duration::days(1)).await?;
    Ok(Progress {
        calls: today.total,
        connected: today.connected(),
        positive: today.positive(catalog),
        target: store.daily_target(me).await?,
        not_placed: today.not_placed,
    })
}

/// What moving a driver in the queue (skip, snooze) came to, in words.
fn moved(r: Result<bool, crate::store::StoreError>, what: String) -> Result<String, String> {
    match r {
        Ok(true) => Ok(what),
        Ok(false) => Err("That driver is no longer in your queue.".into()),
        Err(e) => Err(format!("Not saved: {e}")),
    }
}

/// Validates and stores a driver's corrected name and mobile (only what changed).
async fn edit_driver(
    ctx: &EffectCtx,
    driver_id: &str,
    name: Option<String>,
    mobile: Option<String>,
) -> Result<String, String> {
    let store = &ctx.store;
    let now = Utc::now();
    let driver = match store.driver(driver_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return Err(format!("Driver {driver_id} is gone.")),
        Err(e) => return Err(format!("Not saved: {e}")),
    };
    let mobile = match mobile.filter(|m| !m.trim().is_empty()) {
        Some(m) => Some(
            crate::domain::Phone::parse_with(&m, &ctx.dialer.config.country_code)
                .map_err(|e| format!("Mobile: {e}"))?
                .to_string(),
        ),
        None => None,
    };
    // Validated like import: a clean name of sensible length, a number nobody else has.
    let name = name.map(|n| crate::domain::text::clean_text(&n)).filter(|n| !n.trim().is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 255) {
        return Err("The name is longer than 255 characters.".into());
    }
    if let Some(m) = mobile.as_ref().filter(|m| **m != driver.mobile) {
        let owners =
            store.drivers_with_mobiles(std::slice::from_ref(m)).await.map_err(|e| format!("Not saved: {e}"))?;
        if let Some((_, other)) = owners.iter().find(|(_, id)| id != driver_id) {
            return Err(format!("Mobile {} already belongs to driver {other}.", crate::domain::phone::readable(m)));
        }
    }
    let mut changed = Vec::new();
    for (field, value, old) in [("name", name, &driver.name), ("mobile", mobile, &driver.mobile)] {
        if let Some(v) = value.filter(|v| v != old) {
            store.edit_driver(driver_id, field, &v, ctx.caller_id, now).await.map_err(|e| format!("Not saved: {e}"))?;
            changed.push(field);
        }
    }
    Ok(if changed.is_empty() {
        "Nothing changed.".to_string()
    } else {
        format!("Driver updated ({}); earlier calls keep the old details.", changed.join(", "))
    })
}
