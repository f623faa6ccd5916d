//! Runs [`Effect`]s off the UI path and reports each result back as an [`Action`].

use chrono::{Duration, TimeZone, Utc};
use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, Effect};
use super::state::RECENT_CALLS;
use super::state::StatsBundle;
use super::update::PAGE;
use crate::bus::{CallUpdate, publish};
use crate::dialer::{DialError, Dialer};
use crate::domain::FeedbackCatalog;
use crate::store::{CallFilter, CallPage, Store};

/// What effects need: the store, the dialer and who this console is.
#[derive(Clone)]
pub struct EffectCtx {
    pub store: Store,
    pub dialer: Dialer,
    pub catalog: FeedbackCatalog,
    pub caller_id: i64,
    pub tz: chrono::FixedOffset,
}

/// Starts `effect` on the runtime; its result arrives on `tx`.
pub fn spawn(ctx: &EffectCtx, effect: Effect, tx: &UnboundedSender<Action>) {
    let ctx = ctx.clone();
    let tx = tx.clone();
    tokio::spawn(async move {
        let action = run(&ctx, effect).await;
        if let Some(a) = action {
            let _ = tx.send(a);
        }
    });
}

/// Runs one effect to completion.
pub async fn run(ctx: &EffectCtx, effect: Effect) -> Option<Action> {
    let store = &ctx.store;
    let me = ctx.caller_id;
    let failed = |what: &str, e: crate::store::StoreError| Some(Action::StoreFailed(format!("{what}: {e}")));
    match effect {
        Effect::LoadStartup => {
            let now = Utc::now();
            let wrapups = match store.unfinished_wrapups(me, now - Duration::days(7)).await {
                Ok(w) => w,
                Err(e) => return failed("Could not load unfinished wrap-ups", e),
            };
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
            Some(Action::StartupLoaded { wrapups, live, recent })
        }
        Effect::LoadQueue { generation, after, filter, limit } => {
            let now = Utc::now();
            let rows = store.due_queue(me, now, after.as_ref(), limit, filter.as_deref()).await;
            let counts = store.queue_counts(me, now).await;
            match (rows, counts) {
                (Ok(rows), Ok((due, total))) => {
                    Some(Action::QueueLoaded { generation, append: after.is_some(), rows, due, total, limit })
                }
                (Err(e), _) | (_, Err(e)) => failed("Could not load the queue", e),
            }
        }
        Effect::Dial { driver_id, kind } => match ctx.dialer.place_call(me, &driver_id, None, kind).await {
            Ok(call) => Some(Action::CallPlaced { call, kind }),
            Err(DialError::Provider { message, call }) => Some(Action::DialFailed { message, call: Some(*call) }),
            Err(e) => Some(Action::DialFailed { message: e.to_string(), call: None }),
        },
        Effect::LoadTimeline(id) => match store.call_events(id).await {
            Ok(events) => Some(Action::TimelineLoaded { call_id: id, events }),
            Err(e) => failed("Could not load the call's timeline", e),
        },
        Effect::SaveDraft(d) => match store.save_draft(&d, Utc::now()).await {
            Ok(()) => None,
            Err(e) => failed("Draft not saved (your typing is still on screen)", e),
        },
        Effect::Submit { feedback, call_next } => {
            match store.submit_feedback(&feedback, &ctx.catalog, Utc::now()).await {
                Ok((call, decision)) => {
                    publish(
                        &ctx.dialer.bus,
                        CallUpdate {
                            call: call.clone(),
                            source: "feedback",
                            leg: None,
                            provider_status: None,
                            event_id: None,
                        },
                    );
                    Some(Action::FeedbackSaved { call: Box::new(call), decision, call_next })
                }
                Err(e) => Some(Action::FeedbackFailed(e.to_string())),
            }
        }
        Effect::LoadCallLog { generation, filter, before } => {
            let rows = store.list_calls(&filter, CallPage { before_id: before, offset: None, limit: PAGE }).await;
            let total = store.count_calls(&filter).await;
            match (rows, total) {
                (Ok(rows), Ok(total)) => {
                    Some(Action::CallLogLoaded { generation, append: before.is_some(), rows, total })
                }
                (Err(e), _) | (_, Err(e)) => failed("Could not load the call log", e),
            }
        }
        Effect::LoadStats => match load_stats(store, me, ctx.tz).await {
            Ok(s) => Some(Action::StatsLoaded(Box::new(s))),
            Err(e) => failed("Could not load statistics", e),
        },
    }
}

/// Today (local) and the last 7 local days for one caller, or everyone when `caller` is `None`.
pub async fn load_stats_for(
    store: &Store,
    caller: Option<i64>,
    tz: chrono::FixedOffset,
) -> crate::store::Result<StatsBundle> {
    let now = Utc::now();
    let midnight = now
        .with_timezone(&tz)
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|m| tz.from_local_datetime(&m).earliest())
        .map_or(now, |d| d.with_timezone(&Utc));
    let week_start = midnight - Duration::days(6);
    let end = now + Duration::days(1);
    Ok(StatsBundle {
        today: store.stats(caller, midnight, end).await?,
        week: store.stats(caller, week_start, end).await?,
        days: store.daily_stats(caller, week_start, tz.local_minus_utc() / 60).await?,
    })
}

async fn load_stats(store: &Store, me: i64, tz: chrono::FixedOffset) -> crate::store::Result<StatsBundle> {
    load_stats_for(store, Some(me), tz).await
}
