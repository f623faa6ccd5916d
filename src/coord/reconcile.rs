//! Calls that never got a final webhook: ask TeleCMI's CDR lists and close what they list. A call
//! they do not list yet stays as it is (a connected call may last an hour, and TeleCMI sends
//! nothing while two people talk); only past the call ceiling is it closed, provisionally.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use super::bus::{Bus, CallUpdate, Source, publish};
use super::outage::Outage;
use crate::domain::ProviderEvent;
use crate::domain::{CallLog, Leg, Signal};
use crate::store::{ApplyOutcome, Store};
use crate::telecmi::{CdrRecord, TelecmiClient, TelecmiError};

/// Start of the remarks of a call closed at the call ceiling (`CALL_CEILING_HOURS`).
pub const CEILING: &str = crate::domain::CEILING_REMARK;

/// The remarks of a call closed at the ceiling: its own reason, distinct from any TeleCMI outcome.
pub fn ceiling_reason(ceiling: Duration) -> String {
    format!(
        "{CEILING}: still not reported finished {} h after it was placed; closed by calldesk, provisionally \
         (TeleCMI's own report corrects it)",
        ceiling.num_hours().max(1)
    )
}

/// When a silent call is checked, and when it is given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `RECONCILE_AFTER_MINUTES`: a live call with no webhook for this long is looked up.
    pub stale_after: Duration,
    /// `CALL_CEILING_HOURS`: a call not listed this long after it was placed is closed.
    pub ceiling: Duration,
}

impl Policy {
    pub fn from_config(c: &crate::config::Config) -> Self {
        Self {
            stale_after: Duration::minutes(i64::from(c.reconcile_after_minutes)),
            ceiling: Duration::hours(i64::from(c.call_ceiling_hours)),
        }
    }
}

/// How long before a call was placed a record of it may say it started (clocks differ).
const EARLY: Duration = Duration::minutes(1);

/// How long after a record's start a call may have been placed and still be the one the record
/// is of, before a call placed earlier has the better claim (our clock and TeleCMI's differ).
const SLACK: Duration = Duration::seconds(5);

/// How good a claim the call placed at `placed` has on a record that started at `time` (epoch
/// ms); lower is better, `None` when it started too early to be that call's. A call placed
/// before the record started (TeleCMI starts a call at our dial, or later when it answers the
/// click-to-call late) claims it first, the latest such call best; one placed after it only
/// by clock difference, the nearest best.
fn distance(placed: DateTime<Utc>, time: i64) -> Option<(u8, i64)> {
    let placed = placed.timestamp_millis();
    if placed <= time + SLACK.num_milliseconds() {
        Some((0, (time - placed).abs()))
    } else {
        (time >= placed - EARLY.num_milliseconds()).then_some((1, placed - time))
    }
}

/// The record that belongs to `call`, with its index in `records`: same agent extension and
/// number, started no earlier than [`EARLY`] before the call was placed and at most `window`
/// after it, not `taken` by another call of this pass, and with a better claim ([`distance`])
/// from this call than from any of `others` (the agent's other calls to that number; TeleCMI's
/// record starts within seconds of our dial, or minutes later when it answers the click-to-call
/// late). The best-claimed such record.
fn matching<'a>(
    call: &CallLog,
    others: &[CallLog],
    records: &'a [CdrRecord],
    window: Duration,
    taken: &HashSet<usize>,
) -> Option<(usize, &'a CdrRecord)> {
    let ext = call.telecmi_user_id.as_deref().and_then(|u| u.split('_').next()).unwrap_or("");
    let number = call.driver_mobile.as_deref().unwrap_or("");
    let end = (call.created_at + window).timestamp_millis();
    // Whether another call has a better claim on a record `d` ms from this one, started at `t`
    // (an equal claim goes to the call placed first).
    let claimed_by_other = |t: i64, d: (u8, i64)| {
        others.iter().filter(|o| o.id != call.id).any(|o| {
            distance(o.created_at, t)
                .is_some_and(|od| od < d || (od == d && (o.created_at, o.id) < (call.created_at, call.id)))
        })
    };
    records
        .iter()
        .enumerate()
        .filter(|(i, _)| !taken.contains(i))
        .filter(|(_, r)| {
            let agent_ok = r.agent.as_deref().is_some_and(|a| a == ext || a.split('_').next() == Some(ext));
            let to_ok = r.to.as_deref().is_some_and(|t| t == number || number.ends_with(t) || t.ends_with(number));
            agent_ok && to_ok
        })
        .filter_map(|(i, r)| {
            let t = r.time.filter(|t| *t <= end)?;
            let d = distance(call.created_at, t)?;
            (!claimed_by_other(t, d)).then_some((d, i, r))
        })
        .min_by_key(|(d, i, _)| (*d, *i))
        .map(|(_, i, r)| (i, r))
}

/// The agent's other calls to `call`'s number placed near enough to it to compete for a record
/// in its window (a record's start is within `window` of `call`, so a closer call is within
/// twice that).
async fn neighbours(store: &Store, call: &CallLog, window: Duration) -> crate::store::Result<Vec<CallLog>> {
    let (Some(user), Some(mobile)) = (call.telecmi_user_id.as_deref(), call.driver_mobile.as_deref()) else {
        return Ok(Vec::new());
    };
    let reach = window.max(EARLY) + EARLY;
    store.calls_to_number(user, mobile, call.created_at - reach - EARLY, call.created_at + reach * 2).await
}

async fn fetch_all(
    client: &TelecmiClient,
    answered: bool,
    start: i64,
    end: i64,
) -> Result<Vec<CdrRecord>, TelecmiError> {
    let mut out = Vec::new();
    for page in 1..=25u32 {
        let batch = client.cdr_page(answered, start, end, page).await?;
        let n = batch.len();
        out.extend(batch);
        if n < 20 {
            break;
        }
    }
    Ok(out)
}

/// One pass: every TeleCMI call live for longer than `stale_after` without a webhook is closed
/// with what the CDR lists report; one they do not list stays as it is until the ceiling, when it
/// is closed provisionally with its own reason. Returns how many calls were closed.
#[tracing::instrument(skip_all, err)]
pub async fn reconcile_once(
    store: &Store,
    client: Option<&TelecmiClient>,
    bus: &Bus,
    policy: Policy,
    now: DateTime<Utc>,
) -> crate::store::Result<usize> {
    let stale = store.stale_live_calls(now - policy.stale_after).await?;
    Ok(settle(store, client, bus, policy, stale, now).await?.unwrap_or(0))
}

/// The pass right after a database outage that began at `began`, not `stale_after` later: the
/// calls it left live (placed before it, no webhook since), and the calls the agent closed by
/// hand since it began with no talk time reported (their reports could not arrive), checked
/// against the CDR lists. A call the lists show answered gets its talk time and recording.
/// How many calls changed; `None` when the CDR lists could not be fetched: the calls are still to
/// be checked (the pass is owed).
#[tracing::instrument(skip_all, err)]
pub async fn after_outage(
    store: &Store,
    client: Option<&TelecmiClient>,
    bus: &Bus,
    policy: Policy,
    began: DateTime<Utc>,
    now: DateTime<Utc>,
) -> crate::store::Result<Option<usize>> {
    let mut calls = store.stale_live_calls(began).await?;
    calls.extend(store.closed_unreported(began).await?);
    tracing::info!(calls = calls.len(), since = %began, "reconciling the calls a database outage may have left");
    settle(store, client, bus, policy, calls, now).await
}

/// Closes (or corrects) `calls` with what the CDR lists say; how many changed. `None`: the lists
/// could not be fetched, nothing was done.
async fn settle(
    store: &Store,
    client: Option<&TelecmiClient>,
    bus: &Bus,
    policy: Policy,
    calls: Vec<CallLog>,
    now: DateTime<Utc>,
) -> crate::store::Result<Option<usize>> {
    if calls.is_empty() {
        return Ok(Some(0));
    }
    let from = calls.iter().map(|c| c.created_at).min().unwrap_or(now) - Duration::minutes(1);
    let lists = match client {
        Some(c) => match fetch_lists(c, from, now).await {
            Ok(lists) => Some(lists),
            Err(e) => {
                // Cannot ask now: leave the calls live and try on the next pass.
                tracing::warn!("reconciliation postponed: {e}");
                return Ok(None);
            }
        },
        None => None,
    };
    let mut closed = 0;
    // The records a call of this pass took: no other call takes them.
    let mut taken = HashSet::new();
    for call in calls {
        if let Some((c, event_id)) = close(store, call, lists.as_deref(), &mut taken, policy, now).await? {
            tracing::info!(call_id = c.id, status = ?c.status, duration = ?c.call_duration, "reconciled");
            publish(bus, CallUpdate { event_id, ..CallUpdate::new(c, Source::Reconcile) });
            closed += 1;
        }
    }
    Ok(Some(closed))
}

/// Both CDR lists (answered and missed) from `from` to `now`; the answered list's error first.
async fn fetch_lists(
    client: &TelecmiClient,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<CdrRecord>, TelecmiError> {
    let (start, end) = (from.timestamp_millis(), now.timestamp_millis());
    let (answered, missed) = (fetch_all(client, true, start, end).await, fetch_all(client, false, start, end).await);
    let mut all = answered?;
    all.extend(missed?);
    Ok(all)
}

/// Closes `call` with the record the lists hold for it, or provisionally once past the ceiling;
/// the call as stored then, with the stored event behind it (when a record closed it). `None`:
/// left as it is (not listed yet: in progress, listed only once finished, or lost; silence is not
/// failure).
async fn close(
    store: &Store,
    call: CallLog,
    lists: Option<&[CdrRecord]>,
    taken: &mut HashSet<usize>,
    Policy { stale_after, ceiling }: Policy,
    now: DateTime<Utc>,
) -> crate::store::Result<Option<(CallLog, Option<i64>)>> {
    // TeleCMI's `time` is when the call started; a call listed long after must still match.
    let window = (now - call.created_at).max(stale_after) + Duration::minutes(5);
    let found = match lists {
        Some(l) => {
            let others = neighbours(store, &call, window).await?;
            matching(&call, &others, l, window, taken)
        }
        None => None,
    };
    if let Some((i, rec)) = found {
        // Taken whatever becomes of it: this call's record, no other call's.
        taken.insert(i);
        return match store.apply_event(&report_of(&call, rec), now).await? {
            ApplyOutcome::Applied { call, event_id, .. } => Ok(Some((*call, Some(event_id)))),
            _ => Ok(None),
        };
    }
    if now - call.created_at < ceiling {
        return Ok(None);
    }
    Ok(store.close_provisionally(call.id, &ceiling_reason(ceiling), now).await?.map(|c| (c, None)))
}

/// The CDR-list record `rec` as leg B's report on `call`.
fn report_of(call: &CallLog, rec: &CdrRecord) -> ProviderEvent {
    ProviderEvent {
        dedup_key: format!("reconcile|{}", call.id),
        call_log_id: Some(call.id),
        request_id: None,
        telecmi_user: None,
        number: None,
        kind: "reconcile".into(),
        leg: Leg::B,
        provider_status: if rec.answered { "answered".into() } else { "missed".into() },
        signal: Some(Signal::Report { answered: rec.answered }),
        duration: Some(if rec.answered { rec.duration.unwrap_or(0) } else { 0 }),
        // The lists carry no `record` flag: a file name on an answered call is one.
        recording: rec.filename.clone().filter(|_| rec.answered),
        payload: format!("{rec:?}"),
    }
}

/// How soon a pass the database did not answer is tried again.
const OWED_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs [`reconcile_once`] every `every` until the task is dropped, and [`after_outage`] as soon
/// as the database is back from an outage: one `outage` reported over (the listener's spool
/// drained), or one this task saw itself (a pass the database did not answer, then one it did).
pub async fn run(
    store: Store,
    client: Option<TelecmiClient>,
    bus: Bus,
    policy: Policy,
    every: std::time::Duration,
    outage: Outage,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The outage whose calls are still to be checked: since when.
    let mut owed: Option<DateTime<Utc>> = None;
    let mut last_ok = Utc::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            // An outage seen by a failed pass: check again soon whether the database is back.
            _ = tokio::time::sleep(OWED_RETRY), if owed.is_some() => {}
            began = outage.returned() => owed = Some(owed.map_or(began, |o| o.min(began))),
        }
        if let Some(began) = owed {
            match after_outage(&store, client.as_ref(), &bus, policy, began, Utc::now()).await {
                Ok(Some(_)) => owed = None,
                // The CDR lists did not answer: the calls stay owed, checked on a later pass.
                Ok(None) => {}
                Err(e) => tracing::warn!("reconciliation after the outage failed (tried again next pass): {e}"),
            }
        }
        let started = Utc::now();
        match reconcile_once(&store, client.as_ref(), &bus, policy, started).await {
            Ok(_) => last_ok = started,
            Err(e) if e.is_unavailable() => {
                tracing::warn!("reconciliation failed, the database is unavailable: {e}");
                owed = Some(owed.map_or(last_ok, |o| o.min(last_ok)));
            }
            Err(e) => tracing::warn!("reconciliation failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::distance;

    /// A record belongs to the latest call placed before it started, not to a redial placed
    /// after it, even a nearer one (TeleCMI started the first call late).
    #[test]
    fn a_record_is_claimed_first_by_a_call_placed_before_it_started() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
        let ms = |secs: i64| (t0 + chrono::Duration::seconds(secs)).timestamp_millis();
        let (first, redial) = (t0, t0 + chrono::Duration::seconds(60));
        // TeleCMI started the first call 50 s late; the redial came 10 s after.
        assert!(distance(first, ms(50)) < distance(redial, ms(50)));
        // The first call's own record at once; the redial 50 s later.
        assert!(distance(first, ms(0)) < distance(t0 + chrono::Duration::seconds(50), ms(0)));
        // The redial's own record, 2 s after it: the redial's.
        assert!(distance(redial, ms(62)) < distance(first, ms(62)));
        // A record a little before our dial (clocks differ) is still ours; long before, not.
        assert!(distance(redial, ms(55)).is_some());
        assert!(distance(redial, ms(-10)).is_none());
    }
}
