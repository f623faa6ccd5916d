//! The batch, written once: read what the events need, apply them in memory in order
//! ([`super::rules`]), write the events, recordings and changed calls, commit; and the fallback
//! that stores a failed batch's events one by one. Over [`BatchIo`], which each backend
//! implements: [`super::sqlx_io`] over a sqlx transaction (MariaDB, in-memory SQLite) and
//! [`super::rusqlite_io`] over the SQLite writer thread's own connection.
//!
//! Why an async trait, when the SQLite writer is a plain thread with a blocking connection: the
//! sqlx side can only be async, and the rules must not be written twice. Written async once,
//! the batch runs on sqlx's pools as any store method does, and on the writer thread under
//! [`futures::executor::block_on`]: there every method of [`BatchIo`] finishes without waiting
//! (rusqlite blocks inside it), so the whole batch is a single poll, on the writer's own thread,
//! with no thread switch, task or allocation added per statement. (A pure "plan" step shared by
//! two hand-written drivers was the other way; it does not fit a batch that must read in the
//! middle of its events — the legacy match reads the table after writing what came before — and
//! it would have left the driving loop, the fallback and the event ids written twice.)
//!
//! What stays with each backend is only how it talks to the database: the SQLite writer keeps the
//! calls it committed for the next batch ([`BatchIo::kept`], [`BatchIo::committed`]), updates
//! each changed call alone with only its changed columns and sets `updated_at` itself, and binds
//! the events' text in place; MariaDB reads under row locks, updates every changed call in one
//! statement and reads back the `updated_at` the database set ([`BatchIo::read_back_updated_at`]).

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::rules::ApplyOutcome;
use super::rules::{Batch, Calls, Done, EventRow, Lookup, MAX_BATCH, Mark, Snapshot, finish};
use super::sql::padded;
use crate::domain::{CallLog, Leg, ProviderEvent};
use crate::store::{Result, StoreError, run_again};

/// What one insert of events did: the rows it inserted (fewer than given: another connection
/// stored one of them meanwhile) and, where the backend knows it, the first row's id (the rest
/// follow it one by one).
pub(super) struct Inserted {
    pub(super) rows: u64,
    pub(super) first_id: Option<i64>,
}

/// How a backend talks to the database in a batch: one write transaction at a time, between
/// [`BatchIo::begin`] and [`BatchIo::commit`] or [`BatchIo::roll_back`]. Lists come padded
/// ([`super::sql::padded`]) and never empty.
pub(super) trait BatchIo {
    /// Opens the batch's write transaction.
    async fn begin(&mut self) -> Result<()>;
    /// Which of these event keys are stored already.
    async fn stored_keys(&mut self, keys: &[&str]) -> Result<Vec<String>>;
    /// A call this connection committed in an earlier batch and nobody changed since, with its
    /// mark, taken so as not to read it again; `None` where nothing is kept.
    fn kept(&mut self, _id: i64) -> Option<(CallLog, Option<Mark>)> {
        None
    }
    async fn calls_by_id(&mut self, ids: &[i64]) -> Result<Vec<CallLog>>;
    async fn calls_by_request_id(&mut self, request_ids: &[&str]) -> Result<Vec<CallLog>>;
    /// The provisional marks of these calls: (call id, prior status, reason).
    async fn marks(&mut self, ids: &[i64]) -> Result<Vec<(i64, String, String)>>;
    /// The call an event without ids is matched to ([`super::sql::legacy_call`]).
    async fn legacy_call(&mut self, ev: &ProviderEvent, now: DateTime<Utc>) -> Result<Option<CallLog>>;
    /// Inserts up to 32 events' rows in one statement.
    async fn insert_events(&mut self, rows: &[EventRow<'_>]) -> Result<Inserted>;
    /// The ids of stored events, by key (where [`BatchIo::insert_events`] could not tell them).
    async fn event_ids(&mut self, keys: &[&str]) -> Result<Vec<(String, i64)>>;
    /// Stores up to 32 recordings: (call id, file name, time).
    async fn insert_recordings(&mut self, rows: &[(i64, &str, NaiveDateTime)]) -> Result<()>;
    /// Writes what changed of every held call that [`super::rules::Held::changed`]; a call that
    /// is not there fails the batch.
    async fn update_calls(&mut self, calls: &mut Calls) -> Result<()>;
    async fn drop_marks(&mut self, ids: &[i64]) -> Result<()>;
    /// Before the commit: the `updated_at` of the calls the events were applied to, where the
    /// database set it without telling.
    async fn read_back_updated_at(&mut self, calls: &mut Calls, done: &[Done]) -> Result<()>;
    async fn commit(&mut self) -> Result<()>;
    /// After a failure (of any step, [`BatchIo::begin`] and [`BatchIo::commit`] included):
    /// nothing of the batch stays.
    async fn roll_back(&mut self);
    /// After the commit: the calls the batch held, as they now stand in the table.
    fn committed(&mut self, _calls: Calls) {}
}

/// Stores and applies `events` in order, in one transaction per [`MAX_BATCH`] events, with the
/// rules of [`crate::store::Store::apply_event`] for each. One result per event, in order; every
/// `Ok` is committed when this returns. If the shared transaction fails, each event is tried
/// again alone, so only the events that cannot be stored fail.
pub(super) async fn apply_events<I: BatchIo, E: Borrow<ProviderEvent>>(
    io: &mut I,
    events: &[(E, DateTime<Utc>)],
) -> Vec<Result<ApplyOutcome>> {
    let mut out = Vec::with_capacity(events.len());
    for chunk in events.chunks(MAX_BATCH) {
        match apply_batch(io, chunk).await {
            Ok(done) => out.extend(done.into_iter().map(Ok)),
            Err(e) if chunk.len() == 1 && e.is_deadlock() => out.push(apply_one(io, chunk).await),
            Err(e) if chunk.len() == 1 => out.push(Err(e)),
            Err(e) => {
                tracing::warn!(events = chunk.len(), "batch rolled back ({e}); storing its events one by one");
                for one in chunk {
                    out.push(apply_one(io, std::slice::from_ref(one)).await);
                }
            }
        }
    }
    out
}

/// A batch of one, run again while MariaDB breaks deadlocks with it ([`run_again`]).
async fn apply_one<I: BatchIo, E: Borrow<ProviderEvent>>(
    io: &mut I,
    one: &[(E, DateTime<Utc>)],
) -> Result<ApplyOutcome> {
    let mut tries = 0;
    loop {
        match apply_batch(io, one).await {
            Err(e) if run_again("store webhook", &e, &mut tries).await => {}
            r => return r.and_then(|mut v| v.pop().ok_or_else(|| StoreError::NotFound("no outcome".into()))),
        }
    }
}

/// One transaction for all of `events` (at most [`MAX_BATCH`]): all stored or none.
async fn apply_batch<I: BatchIo, E: Borrow<ProviderEvent>>(
    io: &mut I,
    events: &[(E, DateTime<Utc>)],
) -> Result<Vec<ApplyOutcome>> {
    let mut b = Batch::default();
    let written = match io.begin().await {
        Ok(()) => write(io, &mut b, events).await,
        Err(e) => Err(e),
    };
    let written = match written {
        Ok(Some(done)) => io.commit().await.map(|()| Some(done)),
        other => other,
    };
    match written {
        Ok(Some(done)) => {
            let out = finish(done, &b.calls);
            io.committed(b.calls);
            out
        }
        Ok(None) => {
            io.roll_back().await;
            // Another connection stored one of these events since the batch looked.
            if events.len() == 1 {
                Ok(vec![ApplyOutcome::Duplicate])
            } else {
                Err(StoreError::Invalid("an event of the batch was stored meanwhile".into()))
            }
        }
        Err(e) => {
            io.roll_back().await;
            Err(e)
        }
    }
}

/// Inside the transaction: what each event did, its rows written; `None` if another connection
/// stored one of the events since the batch looked.
async fn write<I: BatchIo, E: Borrow<ProviderEvent>>(
    io: &mut I,
    b: &mut Batch,
    events: &[(E, DateTime<Utc>)],
) -> Result<Option<Vec<Done>>> {
    read(io, b, events).await?;
    // In memory, in order: what each event finds and does. Its row is written below.
    let mut done = Vec::with_capacity(events.len());
    let mut rows: Vec<EventRow> = Vec::with_capacity(events.len());
    for (i, (ev, now)) in events.iter().enumerate() {
        let ev = ev.borrow();
        if !b.seen.insert(ev.dedup_key.clone()) {
            done.push(Done::Duplicate);
            continue;
        }
        let found = match b.lookup(ev) {
            Lookup::Held(id) => Some(id),
            Lookup::None => None,
            Lookup::Legacy => legacy(io, b, ev, *now).await?,
        };
        let (row, did) = b.record(i, ev, *now, found);
        rows.push(row);
        done.push(did);
    }
    if !insert_events(io, &mut done, &rows).await? {
        return Ok(None);
    }
    insert_recordings(io, &rows).await?;
    flush(io, b).await?;
    io.read_back_updated_at(&mut b.calls, &done).await?;
    Ok(Some(done))
}

/// The keys already stored; every call an event names by our id; then, for the events that named
/// none we hold, every call with their request id (the newest is theirs); the marks of the calls
/// read. A call the connection kept from its last commit is not read again.
async fn read<I: BatchIo, E: Borrow<ProviderEvent>>(
    io: &mut I,
    b: &mut Batch,
    events: &[(E, DateTime<Utc>)],
) -> Result<()> {
    let keys: Vec<&str> =
        padded(events.iter().map(|(e, _)| e.borrow().dedup_key.as_str()).collect::<HashSet<_>>().into_iter().collect());
    b.seen.extend(io.stored_keys(&keys).await?);
    let mut ids = Batch::ids(events.iter().map(|(e, _)| e.borrow()));
    // Taken out of what the connection kept: it has them back only after a commit.
    ids.retain(|id| match io.kept(*id) {
        Some((call, mark)) => {
            b.hold_kept(call, mark);
            false
        }
        None => true,
    });
    let ids = padded(ids);
    let mut read: Vec<i64> = Vec::with_capacity(ids.len());
    if !ids.is_empty() {
        for c in io.calls_by_id(&ids).await? {
            read.push(c.id);
            b.hold(c);
        }
    }
    let request_ids = padded(b.request_ids(events.iter().map(|(e, _)| e.borrow())));
    if !request_ids.is_empty() {
        for c in io.calls_by_request_id(&request_ids).await? {
            if !b.calls.contains_key(&c.id) {
                read.push(c.id);
            }
            b.hold(c);
        }
    }
    read.sort_unstable();
    load_marks(io, b, read).await
}

/// Reads the marks of `ids` into the batch.
async fn load_marks<I: BatchIo>(io: &mut I, b: &mut Batch, ids: Vec<i64>) -> Result<()> {
    let ids = padded(ids);
    if ids.is_empty() {
        return Ok(());
    }
    for (id, prior, reason) in io.marks(&ids).await? {
        if let Some(h) = b.calls.get_mut(&id) {
            h.mark = Some((prior, reason));
        }
    }
    Ok(())
}

/// An event without ids (an older payload): the newest live call of its TeleCMI user to its
/// number; a report (CDR) comes after the hangup ended the call, so it may match a call that just
/// finished and its talk time is not lost. Read from the table, so what the batch changed so far
/// is written first.
async fn legacy<I: BatchIo>(io: &mut I, b: &mut Batch, ev: &ProviderEvent, now: DateTime<Utc>) -> Result<Option<i64>> {
    flush(io, b).await?;
    Ok(match io.legacy_call(ev, now).await? {
        Some(c) if b.calls.contains_key(&c.id) => Some(c.id),
        Some(c) => {
            let id = c.id;
            b.hold(c);
            load_marks(io, b, vec![id]).await?;
            Some(id)
        }
        None => None,
    })
}

/// The events' rows, up to 32 to a statement (at most 32 payloads of at most 64 KiB each: 2 MiB,
/// within even MySQL 5.7's default 4 MiB packet), and their ids into `done`. `false` if another
/// connection stored one of them since the batch looked.
async fn insert_events<I: BatchIo>(io: &mut I, done: &mut [Done], rows: &[EventRow<'_>]) -> Result<bool> {
    let mut event_ids: HashMap<&str, i64> = HashMap::new();
    for part in rows.chunks(32) {
        let inserted = io.insert_events(part).await?;
        if inserted.rows < part.len() as u64 {
            return Ok(false);
        }
        if let Some(first) = inserted.first_id {
            for (n, r) in part.iter().enumerate() {
                event_ids.insert(r.ev.dedup_key.as_str(), first + n as i64);
            }
        }
    }
    if event_ids.len() < rows.len() {
        let keys: Vec<&str> = padded(rows.iter().map(|r| r.ev.dedup_key.as_str()).collect());
        for (key, id) in io.event_ids(&keys).await? {
            if let Some(k) = keys.iter().find(|k| **k == key) {
                event_ids.insert(k, id);
            }
        }
    }
    for r in rows {
        if let Done::Applied { event_id, .. } = &mut done[r.index] {
            *event_id = event_ids
                .get(r.ev.dedup_key.as_str())
                .copied()
                .ok_or_else(|| StoreError::NotFound(format!("event {} vanished", r.ev.dedup_key)))?;
        }
    }
    Ok(true)
}

/// Leg B's report names the call's recording: kept with the event, once per call (the first
/// report wins: rows go in batch order).
async fn insert_recordings<I: BatchIo>(io: &mut I, rows: &[EventRow<'_>]) -> Result<()> {
    let recordings: Vec<(i64, &str, NaiveDateTime)> = rows
        .iter()
        .filter_map(|r| match (r.call, &r.ev.recording, r.leg) {
            (Some(id), Some(file), Leg::B) => Some((id, file.as_str(), r.at)),
            _ => None,
        })
        .collect();
    for part in recordings.chunks(32) {
        io.insert_recordings(part).await?;
    }
    Ok(())
}

/// Writes the calls changed in memory and drops the marks that went; the table then holds what
/// the batch holds.
async fn flush<I: BatchIo>(io: &mut I, b: &mut Batch) -> Result<()> {
    io.update_calls(&mut b.calls).await?;
    let unmarked: Vec<i64> = padded(b.calls.values().filter(|h| h.drop_mark).map(|h| h.call.id).collect());
    if !unmarked.is_empty() {
        io.drop_marks(&unmarked).await?;
    }
    for h in b.calls.values_mut() {
        if h.changed() {
            h.stored = Snapshot::of(&h.call);
        }
        h.drop_mark = false;
    }
    Ok(())
}
