//! Group commit of provider events: a batch of webhooks stored and applied in ONE transaction,
//! each event with exactly the rules [`Store::apply_event`] states (de-duplication, forward-only
//! status, provisional marks, recordings), as if applied one after the other in batch order.
//!
//! The batch reads what it needs up front (keys already stored, the calls and their marks, under
//! lock), applies the events in memory in order, writes one row per event and one update per call
//! touched, reads the calls back and commits once. Should anything fail, the batch is rolled back
//! and each event is tried again in a transaction of its own, so one bad event fails alone.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

use super::calls::CALL_COLUMNS;
use super::events::LEGACY_REPORT_WINDOW;
use super::{ApplyOutcome, InsertedId, ProviderEvent, Result, Store, StoreError, db_time, with_pool};
use crate::domain::status::resolve;
use crate::domain::{CallLog, CallStatus, Leg};

/// The most events one transaction holds; longer slices are split.
pub const MAX_BATCH: usize = 256;

/// An event and when it was received.
pub type Received<'a> = (&'a ProviderEvent, DateTime<Utc>);

/// A call as this batch sees it: the row read under lock, with the batch's changes so far.
struct Held {
    call: CallLog,
    /// `call_provisional` (prior_status, reason), while it stands.
    mark: Option<(String, String)>,
    /// Changed in memory, not yet written.
    dirty: bool,
    /// The mark went: its row is to be deleted.
    drop_mark: bool,
}

/// The fields an event changes, as they were right after it.
#[derive(Clone)]
struct Snapshot {
    status: Option<String>,
    call_duration: Option<i64>,
    remarks: Option<String>,
    reference_id: Option<String>,
}

impl Snapshot {
    fn of(c: &CallLog) -> Self {
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
enum Done {
    Applied { id: i64, before: CallStatus, event_id: i64, after: Snapshot },
    Duplicate,
    Unmatched,
    Kept(i64),
}

#[derive(Default)]
struct Batch {
    /// Keys stored before the batch or by an earlier event in it.
    seen: HashSet<String>,
    calls: BTreeMap<i64, Held>,
}

/// Where an event's call is to be found.
enum Lookup {
    Held(i64),
    /// Neither id matched (or none given): an older payload, matched by user and number.
    Legacy,
    None,
}

impl Batch {
    fn hold(&mut self, call: CallLog) {
        self.calls.entry(call.id).or_insert(Held { call, mark: None, dirty: false, drop_mark: false });
    }

    /// Our own id, else the newest call with TeleCMI's request id (as the batch has it: an earlier
    /// event may have taught a call its request id), else the legacy match.
    fn lookup(&self, ev: &ProviderEvent) -> Lookup {
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

    /// Applies a stored event to its call in memory: the rules of [`Store::apply_event`].
    fn apply(&mut self, id: i64, ev: &ProviderEvent, leg: Leg, event_id: i64) -> Done {
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
        if leg == Leg::B
            && let Some(d) = ev.duration
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
        held.dirty = true;
        Done::Applied { id, before, event_id, after: Snapshot::of(c) }
    }
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Writes the calls changed in memory (and drops the marks that went).
macro_rules! flush {
    ($tx:ident, $batch:ident) => {
        for (id, h) in $batch.calls.iter_mut().filter(|(_, h)| h.dirty) {
            sqlx::query(
                "UPDATE call_logs SET status = ?, call_duration = ?, remarks = ?, reference_id = ? WHERE id = ?",
            )
            .bind(h.call.status.as_deref())
            .bind(h.call.call_duration)
            .bind(h.call.remarks.as_deref())
            .bind(h.call.reference_id.as_deref())
            .bind(*id)
            .execute(&mut *$tx)
            .await?;
            if h.drop_mark {
                sqlx::query("DELETE FROM call_provisional WHERE call_log_id = ?").bind(*id).execute(&mut *$tx).await?;
                h.drop_mark = false;
            }
            h.dirty = false;
        }
    };
}

/// Reads the marks of `ids` into the batch.
macro_rules! load_marks {
    ($tx:ident, $batch:ident, $ids:expr) => {{
        let ids: Vec<i64> = $ids;
        if !ids.is_empty() {
            let sql = format!(
                "SELECT call_log_id, prior_status, reason FROM call_provisional WHERE call_log_id IN ({})",
                marks(ids.len())
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
    /// Stores and applies `events` in order, in one transaction per [`MAX_BATCH`] events, with the
    /// rules of [`Store::apply_event`] for each: the same key twice is a duplicate the second time,
    /// two events of one call apply one after the other. One result per event, in order; every
    /// `Ok` is committed when this returns. If the shared transaction fails, each event is tried
    /// again alone, so only the events that cannot be stored fail.
    #[tracing::instrument(skip_all, fields(events = events.len()))]
    pub async fn apply_events(&self, events: &[Received<'_>]) -> Vec<Result<ApplyOutcome>> {
        let mut out = Vec::with_capacity(events.len());
        for chunk in events.chunks(MAX_BATCH) {
            match self.apply_batch(chunk).await {
                Ok(done) => out.extend(done.into_iter().map(Ok)),
                Err(e) if chunk.len() == 1 => out.push(Err(e)),
                Err(e) => {
                    tracing::warn!(events = chunk.len(), "batch rolled back ({e}); storing its events one by one");
                    for one in chunk {
                        let r = self.apply_batch(std::slice::from_ref(one)).await;
                        out.push(r.and_then(|mut v| v.pop().ok_or_else(|| StoreError::NotFound("no outcome".into()))));
                    }
                }
            }
        }
        out
    }

    /// One transaction for all of `events` (at most [`MAX_BATCH`]): all stored or none.
    async fn apply_batch(&self, events: &[Received<'_>]) -> Result<Vec<ApplyOutcome>> {
        let mut b = Batch::default();
        let (done, rows) = with_pool!(self, |p, d| {
            async {
                let mut tx = p.begin_with(d.begin_write).await?;
                let keys: Vec<&str> =
                    events.iter().map(|(e, _)| e.dedup_key.as_str()).collect::<HashSet<_>>().into_iter().collect();
                let sql = format!("SELECT dedup_key FROM webhook_events WHERE dedup_key IN ({})", marks(keys.len()));
                let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql));
                for k in &keys {
                    q = q.bind(*k);
                }
                b.seen.extend(q.fetch_all(&mut *tx).await?.into_iter().map(|(k,)| k));

                // Every call an id or a request id names, locked: by id, and all with the reference.
                let ids: Vec<i64> = events.iter().filter_map(|(e, _)| e.call_log_id).collect::<HashSet<_>>().into_iter().collect();
                if !ids.is_empty() {
                    let sql = format!("{CALL_COLUMNS} WHERE id IN ({}){}", marks(ids.len()), d.for_update);
                    let mut q = sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql));
                    for id in &ids {
                        q = q.bind(*id);
                    }
                    q.fetch_all(&mut *tx).await?.into_iter().for_each(|c| b.hold(c));
                }
                let rids: Vec<&str> = events
                    .iter()
                    .filter_map(|(e, _)| e.request_id.as_deref())
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                if !rids.is_empty() {
                    let sql =
                        format!("{CALL_COLUMNS} WHERE reference_id IN ({}) ORDER BY id{}", marks(rids.len()), d.for_update);
                    let mut q = sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql));
                    for r in &rids {
                        q = q.bind(*r);
                    }
                    q.fetch_all(&mut *tx).await?.into_iter().for_each(|c| b.hold(c));
                }
                load_marks!(tx, b, b.calls.keys().copied().collect());

                let insert = format!(
                    "{} INTO webhook_events (received_at, dedup_key, call_log_id, reference, kind, leg, status, payload) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    d.insert_ignore
                );
                let recording = format!("{} {}", d.insert_ignore, super::recordings::INSERT_TAIL);
                let mut done = Vec::with_capacity(events.len());
                for (ev, now) in events {
                    let now_db = db_time(*now);
                    if b.seen.contains(&ev.dedup_key) {
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
                                    load_marks!(tx, b, vec![id]);
                                    Some(id)
                                }
                                None => None,
                            }
                        }
                    };
                    // Older payloads name no leg: worked out from the number they report (what the
                    // timeline and "who missed" read back), else as received.
                    let leg = match found.and_then(|id| b.calls.get(&id)) {
                        Some(h) => ev.leg.effective(ev.number.as_deref(), h.call.driver_mobile.as_deref()),
                        None => ev.leg,
                    };
                    let inserted = sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
                        .bind(now_db)
                        .bind(&ev.dedup_key)
                        .bind(found)
                        .bind(ev.request_id.as_deref())
                        .bind(&ev.kind)
                        .bind(leg.as_str())
                        .bind(&ev.provider_status)
                        .bind(&ev.payload)
                        .execute(&mut *tx)
                        .await?;
                    if inserted.rows_affected() == 0 {
                        // Another process stored the same event since the batch looked.
                        done.push(Done::Duplicate);
                        continue;
                    }
                    b.seen.insert(ev.dedup_key.clone());
                    // Leg B's report names the call's recording: kept with the event, once per call.
                    if let (Some(id), Some(file), Leg::B) = (found, &ev.recording, leg) {
                        sqlx::query(sqlx::AssertSqlSafe(recording.as_str()))
                            .bind(id)
                            .bind(file)
                            .bind(now_db)
                            .execute(&mut *tx)
                            .await?;
                    }
                    done.push(match found {
                        Some(id) => b.apply(id, ev, leg, inserted.inserted_id()),
                        None => Done::Unmatched,
                    });
                }
                flush!(tx, b);
                // Read the calls back so what is reported is exactly what is stored.
                let touched: Vec<i64> = done
                    .iter()
                    .filter_map(|d| if let Done::Applied { id, .. } = d { Some(*id) } else { None })
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                let mut rows = Vec::new();
                if !touched.is_empty() {
                    let sql = format!("{CALL_COLUMNS} WHERE id IN ({})", marks(touched.len()));
                    let mut q = sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql));
                    for id in &touched {
                        q = q.bind(*id);
                    }
                    rows = q.fetch_all(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>((done, rows))
            }
            .await
        })?;
        let rows: BTreeMap<i64, CallLog> = rows.into_iter().map(|c| (c.id, c)).collect();
        done.into_iter()
            .map(|d| match d {
                Done::Applied { id, before, event_id, after } => {
                    let call =
                        rows.get(&id).cloned().ok_or_else(|| StoreError::NotFound(format!("call {id} vanished")))?;
                    // A call two events of the batch touched: each reports the call as it was
                    // right after it (the last one, as stored).
                    Ok(ApplyOutcome::Applied { call: Box::new(after.onto(call)), before, event_id })
                }
                Done::Duplicate => Ok(ApplyOutcome::Duplicate),
                Done::Unmatched => Ok(ApplyOutcome::Unmatched),
                Done::Kept(call_id) => Ok(ApplyOutcome::Kept { call_id }),
            })
            .collect()
    }
}
