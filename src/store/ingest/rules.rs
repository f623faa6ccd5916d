//! What a batch decides, in memory and with no I/O: which calls its events name, where each
//! event's call is found, what each event does to its call ([`Batch::apply`]: the rules of
//! [`crate::store::Store::apply_event`]), and what each event is reported to have done. Both
//! backends run exactly this ([`super::batch`]); only the reads and writes around it differ.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::domain::status::resolve;
use crate::domain::{CallLog, CallStatus, Leg, ProviderEvent};
use crate::store::{Result, StoreError, db_time};

/// How far back a leg-less report (no ids) may match a call that already finished.
pub(super) const LEGACY_REPORT_WINDOW: chrono::Duration = chrono::Duration::hours(6);

/// The most events one transaction holds; longer slices are split.
pub const MAX_BATCH: usize = 256;

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Stored and applied; the call as it is now, the status it had before, and the stored
    /// event's id (`webhook_events.id`, what the feed de-duplicates on).
    Applied { call: Box<CallLog>, before: CallStatus, event_id: i64 },
    /// Seen before: nothing changed.
    Duplicate,
    /// Stored for audit against its call, whose status is not one calldesk knows (a row the old
    /// system wrote): the call is left as it is.
    Kept { call_id: i64 },
    /// Stored for audit; no call matches it.
    Unmatched,
}

/// A call's provisional mark (`call_provisional`): (prior_status, reason).
pub(super) type Mark = (String, String);

/// A call as this batch sees it: the row read under lock, with the batch's changes so far.
pub(super) struct Held {
    pub(super) call: CallLog,
    /// Its provisional mark, while it stands.
    pub(super) mark: Option<Mark>,
    /// The changing fields as the table has them: what differs is written at the flush.
    pub(super) stored: Snapshot,
    /// The mark went: its row is to be deleted.
    pub(super) drop_mark: bool,
}

/// The fields an event changes, as they were right after it.
#[derive(Clone, PartialEq)]
pub(super) struct Snapshot {
    status: Option<String>,
    call_duration: Option<i64>,
    remarks: Option<String>,
    reference_id: Option<String>,
}

impl Snapshot {
    pub(super) fn of(c: &CallLog) -> Self {
        Self {
            status: c.status.clone(),
            call_duration: c.call_duration,
            remarks: c.remarks.clone(),
            reference_id: c.reference_id.clone(),
        }
    }

    pub(super) fn onto(self, mut c: CallLog) -> CallLog {
        c.status = self.status;
        c.call_duration = self.call_duration;
        c.remarks = self.remarks;
        c.reference_id = self.reference_id;
        c
    }
}

/// What one event did, before the commit.
pub(super) enum Done {
    Applied { id: i64, before: CallStatus, event_id: i64, after: Snapshot },
    Duplicate,
    Unmatched,
    Kept(i64),
}

/// An event's row in `webhook_events`, as the batch worked it out.
pub(super) struct EventRow<'e> {
    /// Its place in the batch.
    pub(super) index: usize,
    pub(super) ev: &'e ProviderEvent,
    pub(super) at: NaiveDateTime,
    pub(super) call: Option<i64>,
    pub(super) leg: Leg,
}

/// The calls a batch holds, by id.
pub(super) type Calls = BTreeMap<i64, Held>;

#[derive(Default)]
pub(super) struct Batch {
    /// Keys stored before the batch or by an earlier event in it.
    pub(super) seen: HashSet<String>,
    pub(super) calls: Calls,
}

/// Where an event's call is to be found.
pub(super) enum Lookup {
    Held(i64),
    /// Neither id matched (or none given): an older payload, matched by user and number.
    Legacy,
    None,
}

impl Held {
    /// Changed in memory, not yet written.
    pub(super) fn changed(&self) -> bool {
        self.changes().contains(&true)
    }

    /// Which of status, call_duration, remarks and reference_id differ from the table.
    pub(super) fn changes(&self) -> [bool; 4] {
        let (s, c) = (&self.stored, &self.call);
        [
            s.status != c.status,
            s.call_duration != c.call_duration,
            s.remarks != c.remarks,
            s.reference_id != c.reference_id,
        ]
    }
}

impl Batch {
    pub(super) fn hold(&mut self, call: CallLog) {
        self.calls.entry(call.id).or_insert_with(|| Held {
            stored: Snapshot::of(&call),
            call,
            mark: None,
            drop_mark: false,
        });
    }

    /// Holds a call as the connection kept it from its last commit, with its mark.
    pub(super) fn hold_kept(&mut self, call: CallLog, mark: Option<Mark>) {
        let id = call.id;
        self.hold(call);
        if let Some(h) = self.calls.get_mut(&id) {
            h.mark = mark;
        }
    }

    /// The calls `events` name by our id, each once: read first.
    pub(super) fn ids<'e>(events: impl Iterator<Item = &'e ProviderEvent>) -> Vec<i64> {
        events.filter_map(|e| e.call_log_id).collect::<HashSet<_>>().into_iter().collect()
    }

    /// The request ids of the `events` whose own id names no call held, each once: the calls
    /// with them are read next, as [`Batch::lookup`] looks there only for those events.
    pub(super) fn request_ids<'e>(&self, events: impl Iterator<Item = &'e ProviderEvent>) -> Vec<&'e str> {
        events
            .filter(|e| e.call_log_id.is_none_or(|id| !self.calls.contains_key(&id)))
            .filter_map(|e| e.request_id.as_deref())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect()
    }

    /// Our own id, else the newest call with TeleCMI's request id (as the batch has it: an earlier
    /// event may have taught a call its request id), else the legacy match.
    pub(super) fn lookup(&self, ev: &ProviderEvent) -> Lookup {
        if let Some(id) = ev.call_log_id
            && self.calls.contains_key(&id)
        {
            return Lookup::Held(id);
        }
        if let Some(rid) = &ev.request_id
            && let Some((id, _)) =
                self.calls.iter().rev().find(|(_, h)| h.call.reference_id.as_deref() == Some(rid.as_str()))
        {
            return Lookup::Held(*id);
        }
        if ev.call_log_id.is_none() && ev.request_id.is_none() && ev.telecmi_user.is_some() && ev.number.is_some() {
            return Lookup::Legacy;
        }
        Lookup::None
    }

    /// Event `index` of the batch (received at `now`) found call `found`: its row to write and
    /// what it did. Older payloads name no leg: worked out from the number they report (what the
    /// timeline and "who missed" read back), else as received.
    pub(super) fn record<'e>(
        &mut self,
        index: usize,
        ev: &'e ProviderEvent,
        now: DateTime<Utc>,
        found: Option<i64>,
    ) -> (EventRow<'e>, Done) {
        let leg = match found.and_then(|id| self.calls.get(&id)) {
            Some(h) => ev.leg.effective(ev.number.as_deref(), h.call.driver_mobile.as_deref()),
            None => ev.leg,
        };
        let done = match found {
            Some(id) => self.apply(id, ev, leg),
            None => Done::Unmatched,
        };
        (EventRow { index, ev, at: db_time(now), call: found, leg }, done)
    }

    /// Applies a stored event to its call in memory: the rules of [`crate::store::Store::apply_event`].
    fn apply(&mut self, id: i64, ev: &ProviderEvent, leg: Leg) -> Done {
        let Some(held) = self.calls.get_mut(&id) else { return Done::Unmatched };
        let Ok(before) = held.call.status.as_deref().unwrap_or("initiated").parse::<CallStatus>() else {
            // A word the old system wrote: no rule says what follows it, so it stays.
            return Done::Kept(id);
        };
        // A status calldesk set without TeleCMI's word (unconfirmed dial, call ceiling, "not
        // placed") gives way to TeleCMI's report: the one move out of `failed`. The event is
        // applied to the status the call had before calldesk decided, and the mark goes.
        let base = match &held.mark {
            Some((prior, _)) if ev.signal.is_some() => prior.parse::<CallStatus>().unwrap_or(before),
            _ => before,
        };
        let after = ev.signal.map_or(before, |s| resolve(base, leg, s));
        let c = &mut held.call;
        c.status = Some(after.as_str().to_string());
        // Leg B's report gives the talk time; a later report of no talk (a contradictory "missed"
        // after "answered", which cannot move the status back either) does not erase one.
        if leg == Leg::B
            && let Some(d) = ev.duration
            && (d > 0 || c.call_duration.unwrap_or(0) <= 0)
        {
            c.call_duration = Some(d);
        }
        if ev.signal.is_some()
            && let Some((_, reason)) = held.mark.take()
        {
            if c.remarks.as_deref() == Some(reason.as_str()) {
                c.remarks = None;
            }
            held.drop_mark = true;
        }
        if let Some(rid) = &ev.request_id
            && c.reference_id.as_deref().is_none_or(str::is_empty)
        {
            // A dial whose answer never came learns TeleCMI's request id from its webhooks.
            c.reference_id = Some(rid.clone());
        }
        Done::Applied { id, before, event_id: 0, after: Snapshot::of(c) }
    }
}

/// The calls the batch's events were applied to, each once.
pub(super) fn touched(done: &[Done]) -> Vec<i64> {
    done.iter()
        .filter_map(|d| if let Done::Applied { id, .. } = d { Some(*id) } else { None })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect()
}

/// What each event did, as reported: a call two events of the batch touched is reported to each
/// as it was right after it (the last one, as stored).
pub(super) fn finish(done: Vec<Done>, calls: &Calls) -> Result<Vec<ApplyOutcome>> {
    done.into_iter()
        .map(|d| match d {
            Done::Applied { id, before, event_id, after } => {
                let call = calls
                    .get(&id)
                    .map(|h| h.call.clone())
                    .ok_or_else(|| StoreError::NotFound(format!("call {id} vanished")))?;
                Ok(ApplyOutcome::Applied { call: Box::new(after.onto(call)), before, event_id })
            }
            Done::Duplicate => Ok(ApplyOutcome::Duplicate),
            Done::Unmatched => Ok(ApplyOutcome::Unmatched),
            Done::Kept(call_id) => Ok(ApplyOutcome::Kept { call_id }),
        })
        .collect()
}
