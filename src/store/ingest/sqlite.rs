//! Group commit on a SQLite file, without sqlx's per-statement thread hand-offs: one thread owns
//! a plain SQLite connection (rusqlite, on the same `libsqlite3-sys` sqlx links) and runs each
//! batch's statements itself. The rules are those of [`super`] — the same in-memory
//! [`Batch`] — with no sqlx in between: sqlx's SQLite driver sends every statement to a worker
//! thread and waits for it, two thread switches per statement, which on a busy machine cost far
//! more than SQLite's own work. With no round trip to pay, the statements are the cheapest for
//! SQLite: the calls by id, then by request id only for the events our id did not find; each
//! changed call updated on its own, only the columns that changed (an index whose column stayed
//! as it was is not rewritten). The calls a batch committed are kept for the next ([`Recent`]:
//! in a burst a call's webhooks come close together) for as long as no other connection has
//! committed anything.
//!
//! Used for file databases only (`:memory:` has no second connection to the same data); the thread
//! that runs it is [`super::writer`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, params_from_iter};

use super::{Batch, Done, EventRow, Lookup, MAX_BATCH, finish, marks, padded};
use crate::domain::{CallLog, Leg, ProviderEvent};
use crate::store::calls::CALL_COLUMNS;
use crate::store::events::LEGACY_REPORT_WINDOW;
use crate::store::{ApplyOutcome, Result, StoreError, db_time};
fn db_error(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

/// Calls this writer held in a batch it committed, as they stood after that commit, with their
/// marks: the next batch takes a call from here instead of reading it again (in a burst a call's
/// webhooks come close together). Valid only while no other connection has committed since:
/// SQLite's `data_version`, read at the start of every batch under the write lock, changes when
/// another connection commits, and then all of it is dropped. Dropped too after any batch that
/// did not commit, and with the connection.
#[derive(Default)]
pub(super) struct Recent {
    /// `PRAGMA data_version` when the calls were kept.
    version: Option<i64>,
    /// This connection's `total_changes` when they were kept: anything else written on it since
    /// (which `data_version` does not see) drops them too.
    written: u64,
    calls: HashMap<i64, (CallLog, Option<(String, String)>)>,
}

/// Calls kept at most; past it the cache starts again.
const RECENT_MAX: usize = 4096;

impl Recent {
    /// Under the batch's write lock: drops everything if another connection committed since.
    fn check(&mut self, tx: &Connection) -> rusqlite::Result<()> {
        let version: i64 = tx.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?;
        if self.version != Some(version) || self.written != tx.total_changes() {
            self.calls.clear();
            self.version = Some(version);
        }
        Ok(())
    }

    pub(super) fn forget(&mut self) {
        self.calls.clear();
        self.version = None;
    }

    /// After the commit: the held calls as they now stand in the table.
    fn keep(&mut self, conn: &Connection, calls: std::collections::BTreeMap<i64, super::Held>) {
        self.written = conn.total_changes();
        if self.calls.len() + calls.len() > RECENT_MAX {
            self.calls.clear();
        }
        self.calls.extend(calls.into_iter().map(|(id, h)| (id, (h.call, h.mark))));
    }
}

/// The same chunking and fallback as [`crate::store::Store::apply_events`].
pub(super) fn apply_events(
    conn: &mut Connection,
    recent: &mut Recent,
    events: &[(ProviderEvent, DateTime<Utc>)],
) -> Vec<Result<ApplyOutcome>> {
    let mut out = Vec::with_capacity(events.len());
    for chunk in events.chunks(MAX_BATCH) {
        match apply_batch(conn, recent, chunk) {
            Ok(done) => out.extend(done.into_iter().map(Ok)),
            Err(e) if chunk.len() == 1 => out.push(Err(e)),
            Err(e) => {
                tracing::warn!(events = chunk.len(), "batch rolled back ({e}); storing its events one by one");
                for one in chunk {
                    let r = apply_batch(conn, recent, std::slice::from_ref(one));
                    out.push(r.and_then(|mut v| v.pop().ok_or_else(|| StoreError::NotFound("no outcome".into()))));
                }
            }
        }
    }
    out
}

fn text(t: NaiveDateTime) -> Value {
    use chrono::{Datelike, Timelike};
    // As sqlx writes a `NaiveDateTime` (whole seconds: `db_time`), without parsing a format
    // string for every time written.
    let (y, mo, d, h, mi, s) = (t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second());
    if (0..=9999).contains(&y) {
        Value::Text(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
    } else {
        Value::Text(t.format("%Y-%m-%d %H:%M:%S").to_string())
    }
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`), the form this writer and `CURRENT_TIMESTAMP` store, read
/// without trying formats one after another.
fn plain_time(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    Some(date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?.and_utc())
}

fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::Text(s.to_string()))
}

fn opt_int(i: Option<i64>) -> Value {
    i.map_or(Value::Null, Value::Integer)
}

/// A stored time as sqlx reads it into `DateTime<Utc>`: `YYYY-MM-DD HH:MM:SS` (or with `T`, a
/// fraction, an offset), UTC.
fn time(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = plain_time(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let with_offset = ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f %#z"];
    let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];
    with_offset
        .iter()
        .find_map(|f| DateTime::parse_from_str(s, f).ok().map(|t| t.with_timezone(&Utc)))
        .or_else(|| naive.iter().find_map(|f| NaiveDateTime::parse_from_str(s, f).ok().map(|n| n.and_utc())))
}

/// A stored time in any form SQLite holds it: text (see [`time`]) or unix seconds.
fn stored_time(v: Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Text(s) => time(&s),
        Value::Integer(secs) => DateTime::from_timestamp(secs, 0),
        _ => None,
    }
}

fn call(row: &rusqlite::Row<'_>) -> rusqlite::Result<CallLog> {
    let at = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> { Ok(stored_time(row.get::<_, Value>(i)?)) };
    Ok(CallLog {
        id: row.get(0)?,
        reference_id: row.get(1)?,
        caller_id: row.get(2)?,
        driver_id: row.get(3)?,
        driver_mobile: row.get(4)?,
        driver_name: row.get(5)?,
        driver_tmid: row.get(6)?,
        call_type: row.get(7)?,
        status: row.get(8)?,
        provider: row.get(9)?,
        telecmi_user_id: row.get(10)?,
        feedback: row.get(11)?,
        remarks: row.get(12)?,
        call_duration: row.get(13)?,
        created_at: at(14)?
            .ok_or_else(|| rusqlite::Error::InvalidColumnType(14, "created_at".into(), rusqlite::types::Type::Text))?,
        updated_at: at(15)?,
    })
}

fn calls_where(tx: &Connection, filter: &str, args: Vec<Value>) -> rusqlite::Result<Vec<CallLog>> {
    let sql = format!("{CALL_COLUMNS} WHERE {filter}");
    let mut st = tx.prepare_cached(&sql)?;
    st.query_map(params_from_iter(args), call)?.collect()
}

fn load_marks(tx: &Connection, b: &mut Batch, ids: Vec<i64>) -> rusqlite::Result<()> {
    let ids = padded(ids);
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT call_log_id, prior_status, reason FROM call_provisional WHERE call_log_id IN ({})",
        marks(ids.len())
    );
    let mut st = tx.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(ids), |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })?;
    for row in rows {
        let (id, prior, reason) = row?;
        if let Some(h) = b.calls.get_mut(&id) {
            h.mark = Some((prior, reason));
        }
    }
    Ok(())
}

/// `UPDATE` of a call's changed columns (bit 0 status, 1 call_duration, 2 remarks,
/// 3 reference_id), which sets `updated_at` too: a statement for each mask, so an index whose
/// column stayed as it was is not rewritten.
fn update_sql(mask: usize) -> &'static str {
    static SQL: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let cols = ["status", "call_duration", "remarks", "reference_id"];
        (0..16)
            .map(|mask: usize| {
                let set: String = cols
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, c)| format!("{c} = ?, "))
                    .collect();
                // The time is set here, so the `updated_at` trigger stays out of it (it bumps
                // only a row whose update left the time as it was).
                format!("UPDATE call_logs SET {set}updated_at = ? WHERE id = ?")
            })
            .collect()
    });
    &SQL[mask]
}

/// Writes what changed of each call held (one row each, its changed columns only: a webhook
/// seldom changes more than the status) and drops the marks that went.
fn flush(tx: &Connection, b: &mut Batch) -> rusqlite::Result<()> {
    // As `CURRENT_TIMESTAMP` would set it (UTC, whole seconds), not read back with `RETURNING`:
    // SQLite gathers a `RETURNING` statement's rows in a temporary table it opens and closes each
    // time. Only a row already stamped with this very second is read back: the `updated_at`
    // trigger stamps it again with SQLite's own clock, which may have passed into the next
    // second since `at` was read (the whole loop lies between).
    let at = db_time(Utc::now());
    let stamped = at.and_utc();
    for h in b.calls.values_mut() {
        let changes = h.changes();
        let mask = changes.iter().enumerate().filter(|(_, c)| **c).fold(0, |m, (i, _)| m | (1 << i));
        if mask == 0 {
            continue;
        }
        let c = &h.call;
        let values = [
            opt_text(c.status.as_deref()),
            opt_int(c.call_duration),
            opt_text(c.remarks.as_deref()),
            opt_text(c.reference_id.as_deref()),
        ];
        let mut args: Vec<Value> =
            values.into_iter().zip(changes).filter_map(|(v, changed)| changed.then_some(v)).collect();
        args.push(text(at));
        args.push(Value::Integer(c.id));
        if tx.prepare_cached(update_sql(mask))?.execute(params_from_iter(args))? != 1 {
            // The row went (or a kept copy was wrong): the batch fails, as a read would have.
            return Err(rusqlite::Error::QueryReturnedNoRows);
        }
        h.call.updated_at = if c.updated_at == Some(stamped) {
            let mut st = tx.prepare_cached("SELECT updated_at FROM call_logs WHERE id = ?")?;
            stored_time(st.query_row([c.id], |r| r.get::<_, Value>(0))?)
        } else {
            Some(stamped)
        };
        h.stored = super::Snapshot::of(&h.call);
    }
    let unmarked: Vec<i64> = padded(b.calls.values().filter(|h| h.drop_mark).map(|h| h.call.id).collect());
    if !unmarked.is_empty() {
        let sql = format!("DELETE FROM call_provisional WHERE call_log_id IN ({})", marks(unmarked.len()));
        tx.prepare_cached(&sql)?.execute(params_from_iter(unmarked))?;
    }
    for h in b.calls.values_mut() {
        h.drop_mark = false;
    }
    Ok(())
}

/// Runs `work` in a write transaction (`BEGIN IMMEDIATE`: the write lock first, so no reader
/// upgrade can fail half-way): committed when it returns `Some`, rolled back on `None` or an
/// error. The two statements stay prepared (a transaction of rusqlite's parses them each time).
fn in_transaction<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<Option<T>>,
) -> rusqlite::Result<Option<T>> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let done = work(conn).and_then(|done| {
        if done.is_some() {
            conn.prepare_cached("COMMIT")?.execute([])?;
        }
        Ok(done)
    });
    if !conn.is_autocommit() {
        // Not committed (nothing to keep, an error, or a failed commit): nothing of it stays.
        if let Err(e) = conn.prepare_cached("ROLLBACK").and_then(|mut st| st.execute([])) {
            tracing::warn!("the webhook writer could not roll back: {e}");
        }
    }
    done
}

/// One transaction for all of `events`: the reads and inserts of [`crate::store::Store::apply_events`]'s
/// batch, in the same order, then an update of each changed call.
fn apply_batch<'e>(
    conn: &mut Connection,
    recent: &mut Recent,
    events: &'e [(ProviderEvent, DateTime<Utc>)],
) -> Result<Vec<ApplyOutcome>> {
    let mut b = Batch::default();
    let done = in_transaction(conn, |tx| -> rusqlite::Result<Option<Vec<Done>>> {
        recent.check(tx)?;
        let keys: Vec<&str> =
            padded(events.iter().map(|(e, _)| e.dedup_key.as_str()).collect::<HashSet<_>>().into_iter().collect());
        {
            let sql = format!("SELECT dedup_key FROM webhook_events WHERE dedup_key IN ({})", marks(keys.len()));
            let mut st = tx.prepare_cached(&sql)?;
            for k in st.query_map(params_from_iter(&keys), |r| r.get::<_, String>(0))? {
                b.seen.insert(k?);
            }
        }
        // Every call an event names by our id; then, for the events that named none we hold,
        // every call with their request id (the newest is theirs).
        // Those this writer committed last (unchanged since: `recent`) are not read again.
        let mut ids = Batch::ids(events.iter().map(|(e, _)| e));
        ids.dedup(); // distinct but for the padding, which repeats the last id
        // Taken out: whatever happens to the batch, `keep` puts them back only after a commit.
        ids.retain(|id| match recent.calls.remove(id) {
            Some((call, mark)) => {
                b.hold(call);
                if let Some(h) = b.calls.get_mut(id) {
                    h.mark = mark;
                }
                false
            }
            None => true,
        });
        let ids = padded(ids);
        let mut read: Vec<i64> = Vec::with_capacity(ids.len());
        if !ids.is_empty() {
            let args = ids.iter().map(|i| Value::Integer(*i)).collect();
            for c in calls_where(tx, &format!("id IN ({})", marks(ids.len())), args)? {
                read.push(c.id);
                b.hold(c);
            }
        }
        let rids = b.request_ids(events.iter().map(|(e, _)| e));
        if !rids.is_empty() {
            let args = rids.iter().map(|r| Value::Text((*r).to_string())).collect();
            for c in calls_where(tx, &format!("reference_id IN ({})", marks(rids.len())), args)? {
                if !b.calls.contains_key(&c.id) {
                    read.push(c.id);
                }
                b.hold(c);
            }
        }
        load_marks(tx, &mut b, read)?;

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
                    // As in the sqlx batch: the newest live call of this user to this number (a
                    // report may match one that just ended), read after what the batch changed.
                    flush(tx, &mut b)?;
                    let filter = "provider = 'telecmi' AND telecmi_user_id = ? AND driver_mobile = ? \
                         AND (status IN ('initiated', 'ringing', 'connected') OR (? AND created_at >= ?)) \
                         ORDER BY id DESC LIMIT 1";
                    let args = vec![
                        opt_text(ev.telecmi_user.as_deref()),
                        opt_text(ev.number.as_deref()),
                        Value::Integer(i64::from(ev.kind == "cdr")),
                        text(db_time(*now - LEGACY_REPORT_WINDOW)),
                    ];
                    match calls_where(tx, filter, args)?.into_iter().next() {
                        Some(c) if b.calls.contains_key(&c.id) => Some(c.id),
                        Some(c) => {
                            let id = c.id;
                            b.hold(c);
                            load_marks(tx, &mut b, vec![id])?;
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

        // The events' rows, 32 to a statement, and their ids: one statement's rows get
        // consecutive rowids in order (this connection holds the write lock).
        let mut event_ids: HashMap<&str, i64> = HashMap::new();
        for part in rows.chunks(32) {
            let sql = format!(
                "INSERT OR IGNORE INTO webhook_events (received_at, dedup_key, call_log_id, reference, kind, leg, status, payload) \
                 VALUES {}",
                vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; part.len()].join(", ")
            );
            // The events' own text is bound where it lies, not copied; the times of a batch are
            // mostly one second, formatted once.
            let borrowed = |s: &'e str| ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()));
            let mut args: Vec<ToSqlOutput<'e>> = Vec::with_capacity(part.len() * 8);
            let mut last: Option<(NaiveDateTime, Value)> = None;
            for r in part {
                let ev = &events[r.index].0;
                let at = match &last {
                    Some((t, v)) if *t == r.at => v.clone(),
                    _ => last.insert((r.at, text(r.at))).1.clone(),
                };
                args.extend([
                    ToSqlOutput::Owned(at),
                    borrowed(&ev.dedup_key),
                    ToSqlOutput::Owned(opt_int(r.call)),
                    ev.request_id.as_deref().map_or(ToSqlOutput::Owned(Value::Null), borrowed),
                    borrowed(&ev.kind),
                    borrowed(r.leg.as_str()),
                    borrowed(&ev.provider_status),
                    borrowed(&ev.payload),
                ]);
            }
            let inserted = tx.prepare_cached(&sql)?.execute(params_from_iter(args))?;
            if inserted < part.len() {
                // Another connection stored one of these events since the batch looked.
                return Ok(None);
            }
            let first = tx.last_insert_rowid() - part.len() as i64 + 1;
            for (n, r) in part.iter().enumerate() {
                event_ids.insert(events[r.index].0.dedup_key.as_str(), first + n as i64);
            }
        }
        for r in &rows {
            if let Done::Applied { event_id, .. } = &mut done[r.index] {
                *event_id = event_ids.get(events[r.index].0.dedup_key.as_str()).copied().unwrap_or_default();
            }
        }
        // Leg B's report names the call's recording: once per call, the first report wins.
        let recordings: Vec<(i64, &String, NaiveDateTime)> = rows
            .iter()
            .filter_map(|r| match (r.call, &events[r.index].0.recording, r.leg) {
                (Some(id), Some(file), Leg::B) => Some((id, file, r.at)),
                _ => None,
            })
            .collect();
        for part in recordings.chunks(32) {
            let values = format!(", {}", crate::store::recordings::VALUES).repeat(part.len() - 1);
            let sql = format!("INSERT OR IGNORE {}{values}", crate::store::recordings::INSERT_TAIL);
            let args: Vec<Value> =
                part.iter().flat_map(|(id, file, at)| [Value::Integer(*id), Value::Text((*file).clone()), text(*at)]).collect();
            tx.prepare_cached(&sql)?.execute(params_from_iter(args))?;
        }
        flush(tx, &mut b)?;
        Ok(Some(done))
    })
    .map_err(|e| {
        recent.forget();
        db_error(e)
    })?;
    match done {
        Some(done) => {
            let out = finish(done, &b.calls);
            recent.keep(conn, b.calls);
            out
        }
        None => {
            recent.forget();
            if events.len() == 1 {
                Ok(vec![ApplyOutcome::Duplicate])
            } else {
                Err(StoreError::Invalid("an event of the batch was stored meanwhile".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{stored_time, text, time};
    use rusqlite::types::Value;

    #[test]
    fn stored_times_read_as_sqlx_reads_them() {
        let t = |s: &str| time(s).map(|t| t.to_rfc3339());
        let want = Some("2026-11-25T09:30:05+00:00".to_string());
        assert_eq!(t("2026-11-25 09:30:05"), want, "db_time and CURRENT_TIMESTAMP");
        assert_eq!(t("2026-11-25T09:30:05"), want);
        assert_eq!(t("2026-11-25 09:30:05.000"), want);
        assert_eq!(t("2026-11-25T09:30:05Z"), want);
        assert_eq!(t("2026-11-25 15:00:05+05:30"), want, "an offset is honoured, not dropped");
        assert_eq!(t("2026-11-25 09:30"), Some("2026-11-25T09:30:00+00:00".to_string()));
        assert_eq!(t("yesterday"), None);
        assert_eq!(t("2026-13-25 09:30:05"), None, "no 13th month");
        assert_eq!(t("2026-11-25 09:30:0x"), None);
        assert_eq!(t("0999-01-02 03:04:05"), Some("0999-01-02T03:04:05+00:00".to_string()));
        let back = |y: i32| {
            let n = chrono::NaiveDate::from_ymd_opt(y, 2, 3).and_then(|d| d.and_hms_opt(4, 5, 6)).expect("time");
            match text(n) {
                Value::Text(s) => (s, n.format("%Y-%m-%d %H:%M:%S").to_string()),
                other => panic!("{other:?}"),
            }
        };
        for y in [2026, 999, 10_000, -5] {
            let (ours, chrono) = back(y);
            assert_eq!(ours, chrono, "year {y} written as chrono writes it");
        }
        assert_eq!(stored_time(Value::Integer(1_795_599_005)).map(|t| t.to_rfc3339()), want);
    }
}
