//! Group commit of provider events: a batch of webhooks stored and applied in ONE transaction,
//! each event with exactly the rules [`Store::apply_event`] states (de-duplication, forward-only
//! status, provisional marks, recordings), as if applied one after the other in batch order.
//!
//! The batch reads what it needs up front (keys already stored, the calls and their marks, under
//! lock), applies the events in memory in order, then writes with a few statements whatever its
//! size: multi-row inserts of the events (and of the recordings), one update of every call it
//! changed; it reads back the `updated_at` the database set and commits once. Should anything
//! fail, the batch is rolled back and each event is tried again in a transaction of its own, so
//! one bad event fails alone.
//!
//! On a SQLite file the batch runs on a thread of its own with a plain SQLite connection
//! ([`sqlite`]): the same [`Batch`] rules, without sqlx's two thread switches per
//! statement, and statements shaped for SQLite (one update per changed call, only its changed
//! columns; the calls it committed last not read again while no other connection wrote).
//! MariaDB and in-memory SQLite use the code below.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

mod sqlite;
mod wal;
pub(crate) mod writer;

use super::calls::CALL_COLUMNS;
use super::events::LEGACY_REPORT_WINDOW;
use super::{ApplyOutcome, InsertedId, Result, Store, StoreError, db_time, with_pool};
use crate::domain::status::resolve;
use crate::domain::{CallLog, CallStatus, Leg, ProviderEvent};

/// The most events one transaction holds; longer slices are split.
pub const MAX_BATCH: usize = 256;

/// An event and when it was received.
pub type Received<'a> = (&'a ProviderEvent, DateTime<Utc>);

/// A call as this batch sees it: the row read under lock, with the batch's changes so far.
pub(super) struct Held {
    pub(super) call: CallLog,
    /// `call_provisional` (prior_status, reason), while it stands.
    pub(super) mark: Option<(String, String)>,
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

    fn onto(self, mut c: CallLog) -> CallLog {
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
pub(super) struct EventRow {
    /// Its place in the batch.
    pub(super) index: usize,
    pub(super) at: chrono::NaiveDateTime,
    pub(super) call: Option<i64>,
    pub(super) leg: Leg,
}

#[derive(Default)]
pub(super) struct Batch {
    /// Keys stored before the batch or by an earlier event in it.
    pub(super) seen: HashSet<String>,
    pub(super) calls: BTreeMap<i64, Held>,
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

    /// The calls `events` name by our id (padded): read first.
    pub(super) fn ids<'e>(events: impl Iterator<Item = &'e ProviderEvent>) -> Vec<i64> {
        padded(events.filter_map(|e| e.call_log_id).collect::<HashSet<_>>().into_iter().collect())
    }

    /// The request ids of the `events` whose own id names no call held (padded): the calls
    /// with them are read next, as [`Batch::lookup`] looks there only for those events.
    pub(super) fn request_ids<'e>(&self, events: impl Iterator<Item = &'e ProviderEvent>) -> Vec<&'e str> {
        padded(
            events
                .filter(|e| e.call_log_id.is_none_or(|id| !self.calls.contains_key(&id)))
                .filter_map(|e| e.request_id.as_deref())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect(),
        )
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
    pub(super) fn record(
        &mut self,
        index: usize,
        ev: &ProviderEvent,
        now: DateTime<Utc>,
        found: Option<i64>,
    ) -> (EventRow, Done) {
        let leg = match found.and_then(|id| self.calls.get(&id)) {
            Some(h) => ev.leg.effective(ev.number.as_deref(), h.call.driver_mobile.as_deref()),
            None => ev.leg,
        };
        let done = match found {
            Some(id) => self.apply(id, ev, leg),
            None => Done::Unmatched,
        };
        (EventRow { index, at: db_time(now), call: found, leg }, done)
    }

    /// Applies a stored event to its call in memory: the rules of [`Store::apply_event`].
    pub(super) fn apply(&mut self, id: i64, ev: &ProviderEvent, leg: Leg) -> Done {
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

/// Statement sizes: every list is padded up to one of these (repeating its last value, which
/// changes nothing in an `IN` list or a `CASE`), so a few statement shapes serve every batch and
/// stay in the connection's prepared-statement cache.
const SIZES: [usize; 6] = [1, 4, 16, 64, 128, MAX_BATCH];

pub(super) fn padded<T: Clone>(mut v: Vec<T>) -> Vec<T> {
    let size = SIZES.iter().copied().find(|s| *s >= v.len()).unwrap_or(v.len());
    if let Some(last) = v.last().cloned() {
        v.resize(size, last);
    }
    v
}

pub(super) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Writes the calls changed in memory in one statement (and drops the marks that went).
macro_rules! flush {
    ($tx:ident, $batch:ident) => {{
        let dirty: Vec<&Held> = padded($batch.calls.values().filter(|h| h.changed()).collect());
        if !dirty.is_empty() {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(update_calls(dirty.len(), "")));
            for h in &dirty {
                q = q.bind(h.call.id).bind(h.call.status.as_deref());
            }
            for h in &dirty {
                q = q.bind(h.call.id).bind(h.call.call_duration);
            }
            for h in &dirty {
                q = q.bind(h.call.id).bind(h.call.remarks.as_deref());
            }
            for h in &dirty {
                q = q.bind(h.call.id).bind(h.call.reference_id.as_deref());
            }
            for h in &dirty {
                q = q.bind(h.call.id);
            }
            q.execute(&mut *$tx).await?;
        }
        let unmarked: Vec<i64> = padded($batch.calls.values().filter(|h| h.drop_mark).map(|h| h.call.id).collect());
        if !unmarked.is_empty() {
            let sql = format!("DELETE FROM call_provisional WHERE call_log_id IN ({})", marks(unmarked.len()));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &unmarked {
                q = q.bind(*id);
            }
            q.execute(&mut *$tx).await?;
        }
        for h in $batch.calls.values_mut() {
            h.stored = Snapshot::of(&h.call);
            h.drop_mark = false;
        }
    }};
}

/// Sets (status, call_duration, remarks, reference_id) of `n` calls in one statement that finds
/// each row by its primary key on either backend (a join with a derived table makes MariaDB scan
/// and lock the whole table). Binds (id, value) pairs per column, then the ids. `also` is set
/// too (`, column = expression`, or nothing).
pub(super) fn update_calls(n: usize, also: &str) -> String {
    let case = |col: &str| format!("{col} = CASE id{} END", " WHEN ? THEN ?".repeat(n));
    format!(
        "UPDATE call_logs SET {}, {}, {}, {}{also} WHERE id IN ({})",
        case("status"),
        case("call_duration"),
        case("remarks"),
        case("reference_id"),
        marks(n)
    )
}

/// Reads the marks of `ids` into the batch, with `lock` (on MariaDB a locking read: it sees the
/// marks as committed now, as the locking read of the calls does, not as the transaction's first
/// read saw them).
macro_rules! load_marks {
    ($tx:ident, $batch:ident, $ids:expr, $lock:expr) => {{
        let ids: Vec<i64> = padded($ids);
        if !ids.is_empty() {
            let sql = format!(
                "SELECT call_log_id, prior_status, reason FROM call_provisional WHERE call_log_id IN ({}){}",
                marks(ids.len()),
                $lock
            );
            let mut q = sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                q = q.bind(*id);
            }
            for (id, prior, reason) in q.fetch_all(&mut *$tx).await? {
                if let Some(h) = $batch.calls.get_mut(&id) {
                    h.mark = Some((prior, reason));
                }
            }
        }
    }};
}

impl Store {
    /// The thread that stores webhooks on a SQLite file, for a listener to hand them to directly
    /// ([`writer::SqliteWriter::submit`]); `None` on MariaDB and in-memory SQLite, where
    /// [`Store::apply_events`] is the way in.
    pub(crate) fn webhook_writer(&self) -> Option<&writer::SqliteWriter> {
        self.sqlite_writer.as_ref().map(|w| w.get())
    }

    /// Stores and applies `events` in order, in one transaction per [`MAX_BATCH`] events, with the
    /// rules of [`Store::apply_event`] for each: the same key twice is a duplicate the second time,
    /// two events of one call apply one after the other. One result per event, in order; every
    /// `Ok` is committed when this returns. If the shared transaction fails, each event is tried
    /// again alone, so only the events that cannot be stored fail.
    #[tracing::instrument(skip_all, fields(events = events.len()))]
    pub async fn apply_events(&self, events: &[Received<'_>]) -> Vec<Result<ApplyOutcome>> {
        if let Some(w) = &self.sqlite_writer {
            return w.get().apply_events(events.iter().map(|(e, at)| ((*e).clone(), *at)).collect()).await;
        }
        let mut out = Vec::with_capacity(events.len());
        for chunk in events.chunks(MAX_BATCH) {
            match self.apply_batch(chunk).await {
                Ok(done) => out.extend(done.into_iter().map(Ok)),
                Err(e) if chunk.len() == 1 && e.is_deadlock() => {
                    out.push(
                        super::retrying("store webhook", || self.apply_batch(chunk))
                            .await
                            .and_then(|mut v| v.pop().ok_or_else(|| StoreError::NotFound("no outcome".into()))),
                    );
                }
                Err(e) if chunk.len() == 1 => out.push(Err(e)),
                Err(e) => {
                    tracing::warn!(events = chunk.len(), "batch rolled back ({e}); storing its events one by one");
                    for one in chunk {
                        let r = super::retrying("store webhook", || self.apply_batch(std::slice::from_ref(one))).await;
                        out.push(r.and_then(|mut v| v.pop().ok_or_else(|| StoreError::NotFound("no outcome".into()))));
                    }
                }
            }
        }
        out
    }

    /// One transaction for all of `events` (at most [`MAX_BATCH`]): all stored or none. A few
    /// statements per batch, whatever its size: the reads, the inserts of the events (32 to a
    /// statement), one update of the calls, the read-back of their `updated_at`.
    async fn apply_batch(&self, events: &[Received<'_>]) -> Result<Vec<ApplyOutcome>> {
        let mut b = Batch::default();
        let done = with_pool!(self, |p, d| {
            async {
                let mut tx = p.begin_with(d.begin_write).await?;
                let keys: Vec<&str> = padded(
                    events.iter().map(|(e, _)| e.dedup_key.as_str()).collect::<HashSet<_>>().into_iter().collect(),
                );
                let sql = format!("SELECT dedup_key FROM webhook_events WHERE dedup_key IN ({})", marks(keys.len()));
                let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql));
                for k in &keys {
                    q = q.bind(*k);
                }
                b.seen.extend(q.fetch_all(&mut *tx).await?.into_iter().map(|(k,)| k));

                // Every call an event names by our id, locked; then, for the events that named
                // none we hold, every call with their request id (the newest is theirs). Each
                // an index lookup under its row locks.
                let ids = Batch::ids(events.iter().map(|(e, _)| *e));
                if !ids.is_empty() {
                    let sql = format!("{CALL_COLUMNS} WHERE id IN ({}) ORDER BY id{}", marks(ids.len()), d.for_update);
                    let mut q = sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql));
                    for id in &ids {
                        q = q.bind(*id);
                    }
                    q.fetch_all(&mut *tx).await?.into_iter().for_each(|c| b.hold(c));
                }
                let rids = b.request_ids(events.iter().map(|(e, _)| *e));
                if !rids.is_empty() {
                    let sql =
                        format!("{CALL_COLUMNS} WHERE reference_id IN ({}) ORDER BY id{}", marks(rids.len()), d.for_update);
                    let mut q = sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql));
                    for r in &rids {
                        q = q.bind(*r);
                    }
                    q.fetch_all(&mut *tx).await?.into_iter().for_each(|c| b.hold(c));
                }
                load_marks!(tx, b, b.calls.keys().copied().collect(), d.for_update);

                // In memory, in order: what each event finds and does. Its row is written below.
                let mut done = Vec::with_capacity(events.len());
                let mut rows: Vec<EventRow> = Vec::with_capacity(events.len());
                for (i, (ev, now)) in events.iter().enumerate() {
                    if !b.seen.insert(ev.dedup_key.clone()) {
                        done.push(Done::Duplicate);
                        continue;
                    }
                    let found = match b.lookup(ev) {
                        Lookup::Held(id) => Some(id),
                        Lookup::None => None,
                        Lookup::Legacy => {
                            // The newest live call of this TeleCMI user to this number (older payloads
                            // carry no ids); a report (CDR) comes after the hangup ended the call: it
                            // may match a call that just finished, so its talk time is not lost. Read
                            // from the table, so what the batch changed so far is written first.
                            flush!(tx, b);
                            let sql = format!(
                                "{CALL_COLUMNS} WHERE provider = 'telecmi' AND telecmi_user_id = ? AND driver_mobile = ? \
                                 AND (status IN ('initiated', 'ringing', 'connected') OR (? AND created_at >= ?)) \
                                 ORDER BY id DESC LIMIT 1{}",
                                d.for_update
                            );
                            let row: Option<CallLog> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                                .bind(ev.telecmi_user.as_deref())
                                .bind(ev.number.as_deref())
                                .bind(ev.kind == "cdr")
                                .bind(db_time(*now - LEGACY_REPORT_WINDOW))
                                .fetch_optional(&mut *tx)
                                .await?;
                            match row {
                                Some(c) if b.calls.contains_key(&c.id) => Some(c.id),
                                Some(c) => {
                                    let id = c.id;
                                    b.hold(c);
                                    load_marks!(tx, b, vec![id], d.for_update);
                                    Some(id)
                                }
                                None => None,
                            }
                        }
                    };
                    let (row, did) = b.record(i, ev, *now, found);
                    rows.push(row);
                    done.push(did);
                }

                // The events' rows, up to 32 to a statement (at most 32 payloads of at most 64 KiB
                // each: 2 MiB, within even MySQL 5.7's default 4 MiB packet), then their ids.
                let mut inserted = 0;
                let mut event_ids = std::collections::HashMap::new();
                for part in rows.chunks(32) {
                    let sql = format!(
                        "{} INTO webhook_events (received_at, dedup_key, call_log_id, reference, kind, leg, status, payload) \
                         VALUES {}",
                        d.insert_ignore,
                        vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; part.len()].join(", ")
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in part {
                        let ev = events[r.index].0;
                        q = q
                            .bind(r.at)
                            .bind(&ev.dedup_key)
                            .bind(r.call)
                            .bind(ev.request_id.as_deref())
                            .bind(&ev.kind)
                            .bind(r.leg.as_str())
                            .bind(&ev.provider_status)
                            .bind(&ev.payload);
                    }
                    let result = q.execute(&mut *tx).await?;
                    inserted += result.rows_affected();
                    if d.for_update.is_empty() && result.rows_affected() == part.len() as u64 {
                        // SQLite gives one statement's rows consecutive rowids in order (one
                        // writer holds the database), and reports the last.
                        let first = result.inserted_id() - part.len() as i64 + 1;
                        for (n, r) in part.iter().enumerate() {
                            event_ids.insert(events[r.index].0.dedup_key.as_str(), first + n as i64);
                        }
                    }
                }
                if inserted < rows.len() as u64 {
                    // Another process stored one of these events since the batch looked.
                    if events.len() == 1 {
                        return Ok::<_, StoreError>(vec![Done::Duplicate]);
                    }
                    return Err(StoreError::Invalid("an event of the batch was stored meanwhile".into()));
                }
                if event_ids.len() < rows.len() {
                    // MariaDB: ids of a multi-row insert are not promised to be consecutive.
                    let stored: Vec<&str> = padded(rows.iter().map(|r| events[r.index].0.dedup_key.as_str()).collect());
                    let sql = format!("SELECT dedup_key, id FROM webhook_events WHERE dedup_key IN ({})", marks(stored.len()));
                    let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
                    for k in &stored {
                        q = q.bind(*k);
                    }
                    for (key, id) in q.fetch_all(&mut *tx).await? {
                        if let Some(k) = stored.iter().find(|k| **k == key) {
                            event_ids.insert(k, id);
                        }
                    }
                }
                for r in &rows {
                    if let Done::Applied { event_id, .. } = &mut done[r.index] {
                        *event_id = event_ids.get(events[r.index].0.dedup_key.as_str()).copied().ok_or_else(|| {
                            StoreError::NotFound(format!("event {} vanished", events[r.index].0.dedup_key))
                        })?;
                    }
                }
                // Leg B's report names the call's recording: kept with the event, once per call (the
                // first report wins: rows go in batch order).
                let recordings: Vec<_> = rows
                    .iter()
                    .filter_map(|r| match (r.call, &events[r.index].0.recording, r.leg) {
                        (Some(id), Some(file), Leg::B) => Some((id, file, r.at)),
                        _ => None,
                    })
                    .collect();
                for part in recordings.chunks(32) {
                    let values = format!(", {}", super::recordings::VALUES).repeat(part.len() - 1);
                    let sql = format!("{} {}{values}", d.insert_ignore, super::recordings::INSERT_TAIL);
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (id, file, at) in part {
                        q = q.bind(*id).bind(*file).bind(*at);
                    }
                    q.execute(&mut *tx).await?;
                }
                flush!(tx, b);
                // What the database set itself: `updated_at` (its trigger or ON UPDATE). Every
                // other column is as the batch bound it, on rows locked since they were read.
                let touched = touched(&done);
                if !touched.is_empty() {
                    // A locking read (on MariaDB): the rows as they are, not as the transaction's
                    // first read saw them.
                    let sql =
                        format!("SELECT id, updated_at FROM call_logs WHERE id IN ({}){}", marks(touched.len()), d.for_update);
                    let mut q = sqlx::query_as::<_, (i64, Option<DateTime<Utc>>)>(sqlx::AssertSqlSafe(sql));
                    for id in &touched {
                        q = q.bind(*id);
                    }
                    for (id, at) in q.fetch_all(&mut *tx).await? {
                        if let Some(h) = b.calls.get_mut(&id) {
                            h.call.updated_at = at;
                        }
                    }
                }
                tx.commit().await?;
                Ok::<_, StoreError>(done)
            }
            .await
        })?;
        finish(done, &b.calls)
    }
}

/// The calls the batch's events were applied to (padded, for the read-back of `updated_at`).
pub(super) fn touched(done: &[Done]) -> Vec<i64> {
    padded(
        done.iter()
            .filter_map(|d| if let Done::Applied { id, .. } = d { Some(*id) } else { None })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect(),
    )
}

/// What each event did, as reported: a call two events of the batch touched is reported to each
/// as it was right after it (the last one, as stored).
pub(super) fn finish(done: Vec<Done>, calls: &BTreeMap<i64, Held>) -> Result<Vec<ApplyOutcome>> {
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
