//! The batch on a SQLite file, without sqlx's per-statement thread hand-offs: the writer thread
//! ([`super::writer`]) owns a plain SQLite connection (rusqlite, on the same `libsqlite3-sys`
//! sqlx links) and runs the batch ([`super::batch`]) on it itself, under a `block_on` that never
//! waits: each method below finishes before it returns. sqlx's SQLite driver sends every
//! statement to a worker thread and waits for it, two thread switches per statement, which on a
//! busy machine cost far more than SQLite's own work.
//!
//! With no round trip to pay, the statements are the cheapest for SQLite: the calls by id, then
//! by request id only for the events our id did not find; each changed call updated on its own,
//! only the columns that changed (an index whose column stayed as it was is not rewritten), with
//! `updated_at` set here rather than read back; the events' text bound where it lies. The calls a
//! batch committed are kept for the next ([`Recent`]: in a burst a call's webhooks come close
//! together) for as long as no other connection has committed anything.
//!
//! Used for file databases only (`:memory:` has no second connection to the same data).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, params_from_iter};

use super::batch::{BatchIo, Inserted};
use super::rules::{ApplyOutcome, Calls, Done, EventRow, LEGACY_REPORT_WINDOW, Mark};
use super::rusqlite_values::{call, opt_int, opt_text, stored_time, text};
use super::sql::{self, marks};
use crate::domain::{CallLog, ProviderEvent};
use crate::store::calls::CALL_COLUMNS;
use crate::store::{Result, SQLITE, StoreError, db_time};

/// SQLite's primary result codes that say the file or the lock, not the statement: busy (5),
/// locked (6), I/O error (10), full (13), cannot open (14) (as [`crate::store::StoreError::is_unavailable`]
/// counts them through sqlx). Anything else (a constraint, a type, a missing row) is the
/// database refusing this piece of work: trying it again would fail the same way.
fn db_error(e: rusqlite::Error) -> StoreError {
    let primary = e.sqlite_error().map(|f| f.extended_code & 0xff);
    if primary.is_some_and(|c| [5, 6, 10, 13, 14].contains(&c)) {
        StoreError::Unavailable(format!("sqlite: {e}"))
    } else {
        StoreError::Invalid(format!("database error: sqlite: {e}"))
    }
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
    calls: HashMap<i64, (CallLog, Option<Mark>)>,
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
    fn keep(&mut self, conn: &Connection, calls: Calls) {
        self.written = conn.total_changes();
        if self.calls.len() + calls.len() > RECENT_MAX {
            self.calls.clear();
        }
        self.calls.extend(calls.into_iter().map(|(id, h)| (id, (h.call, h.mark))));
    }
}

/// Stores and applies `events` as [`crate::store::Store::apply_events`] says, on the writer
/// thread's connection.
pub(super) fn apply_events(
    conn: &Connection,
    recent: &mut Recent,
    events: &[(ProviderEvent, DateTime<Utc>)],
) -> Vec<Result<ApplyOutcome>> {
    futures::executor::block_on(super::batch::apply_events(&mut RusqliteIo { conn, recent }, events))
}

/// A batch on the writer's connection, and the calls it kept from the last.
struct RusqliteIo<'c> {
    conn: &'c Connection,
    recent: &'c mut Recent,
}

impl RusqliteIo<'_> {
    fn calls_where(&self, filter: &str, args: Vec<Value>) -> Result<Vec<CallLog>> {
        let sql = format!("{CALL_COLUMNS} WHERE {filter}");
        let mut st = self.conn.prepare_cached(&sql).map_err(db_error)?;
        st.query_map(params_from_iter(args), call).and_then(Iterator::collect).map_err(db_error)
    }

    /// Runs a statement prepared once (a transaction of rusqlite's parses it each time).
    fn run(&self, sql: &str) -> Result<()> {
        self.conn.prepare_cached(sql).and_then(|mut st| st.execute([])).map(|_| ()).map_err(db_error)
    }

    /// Writes what changed of one call (its changed columns only: a webhook seldom changes more
    /// than the status) and stamps its `updated_at` (`at`, as the database would: `stamped`).
    fn update_call(&self, h: &mut super::rules::Held, at: NaiveDateTime, stamped: DateTime<Utc>) -> Result<()> {
        let changes = h.changes();
        let mask = changes.iter().enumerate().filter(|(_, c)| **c).fold(0, |m, (i, _)| m | (1 << i));
        if mask == 0 {
            return Ok(());
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
        let updated = self.conn.prepare_cached(update_sql(mask)).and_then(|mut st| st.execute(params_from_iter(args)));
        if updated.map_err(db_error)? != 1 {
            // The row went (or a kept copy was wrong): the batch fails, as a read would have.
            return Err(db_error(rusqlite::Error::QueryReturnedNoRows));
        }
        h.call.updated_at = if c.updated_at == Some(stamped) {
            let read = self
                .conn
                .prepare_cached("SELECT updated_at FROM call_logs WHERE id = ?")
                .and_then(|mut st| st.query_row([c.id], |r| r.get::<_, Value>(0)));
            stored_time(read.map_err(db_error)?)
        } else {
            Some(stamped)
        };
        Ok(())
    }
}

impl BatchIo for RusqliteIo<'_> {
    /// `BEGIN IMMEDIATE`: the write lock first, so no reader upgrade can fail half-way; under it,
    /// whether another connection committed since the calls were kept.
    async fn begin(&mut self) -> Result<()> {
        self.run("BEGIN IMMEDIATE")?;
        self.recent.check(self.conn).map_err(db_error)
    }

    async fn stored_keys(&mut self, keys: &[&str]) -> Result<Vec<String>> {
        let mut st = self.conn.prepare_cached(&sql::stored_keys(keys.len())).map_err(db_error)?;
        st.query_map(params_from_iter(keys), |r| r.get::<_, String>(0)).and_then(Iterator::collect).map_err(db_error)
    }

    /// Taken out: whatever happens to the batch, [`Recent::keep`] puts it back only after a commit.
    fn kept(&mut self, id: i64) -> Option<(CallLog, Option<Mark>)> {
        self.recent.calls.remove(&id)
    }

    async fn calls_by_id(&mut self, ids: &[i64]) -> Result<Vec<CallLog>> {
        let args = ids.iter().map(|i| Value::Integer(*i)).collect();
        self.calls_where(&format!("id IN ({})", marks(ids.len())), args)
    }

    async fn calls_by_request_id(&mut self, request_ids: &[&str]) -> Result<Vec<CallLog>> {
        let args = request_ids.iter().map(|r| Value::Text((*r).to_string())).collect();
        self.calls_where(&format!("reference_id IN ({})", marks(request_ids.len())), args)
    }

    async fn marks(&mut self, ids: &[i64]) -> Result<Vec<(i64, String, String)>> {
        let mut st = self.conn.prepare_cached(&sql::marks_of(ids.len(), SQLITE.for_update)).map_err(db_error)?;
        st.query_map(params_from_iter(ids), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(Iterator::collect)
            .map_err(db_error)
    }

    async fn legacy_call(&mut self, ev: &ProviderEvent, now: DateTime<Utc>) -> Result<Option<CallLog>> {
        let args = vec![
            opt_text(ev.telecmi_user.as_deref()),
            opt_text(ev.number.as_deref()),
            Value::Integer(i64::from(ev.kind == "cdr")),
            text(db_time(now - LEGACY_REPORT_WINDOW)),
        ];
        let sql = sql::legacy_call(SQLITE.for_update);
        let mut st = self.conn.prepare_cached(&sql).map_err(db_error)?;
        let rows: Vec<CallLog> =
            st.query_map(params_from_iter(args), call).and_then(Iterator::collect).map_err(db_error)?;
        Ok(rows.into_iter().next())
    }

    /// The events' own text is bound where it lies, not copied; the times of a batch are mostly
    /// one second, formatted once. One statement's rows get consecutive rowids in order (this
    /// connection holds the write lock).
    async fn insert_events(&mut self, rows: &[EventRow<'_>]) -> Result<Inserted> {
        fn borrowed(s: &str) -> ToSqlOutput<'_> {
            ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
        }
        let mut args: Vec<ToSqlOutput<'_>> = Vec::with_capacity(rows.len() * 8);
        let mut last: Option<(NaiveDateTime, Value)> = None;
        for r in rows {
            let at = match &last {
                Some((t, v)) if *t == r.at => v.clone(),
                _ => last.insert((r.at, text(r.at))).1.clone(),
            };
            args.extend([
                ToSqlOutput::Owned(at),
                borrowed(&r.ev.dedup_key),
                ToSqlOutput::Owned(opt_int(r.call)),
                r.ev.request_id.as_deref().map_or(ToSqlOutput::Owned(Value::Null), borrowed),
                borrowed(&r.ev.kind),
                borrowed(r.leg.as_str()),
                borrowed(&r.ev.provider_status),
                borrowed(&r.ev.payload),
            ]);
        }
        let sql = sql::insert_events(&SQLITE, rows.len());
        let inserted =
            self.conn.prepare_cached(&sql).and_then(|mut st| st.execute(params_from_iter(args))).map_err(db_error)?;
        let first_id = self.conn.last_insert_rowid() - rows.len() as i64 + 1;
        Ok(Inserted { rows: inserted as u64, first_id: Some(first_id) })
    }

    async fn event_ids(&mut self, keys: &[&str]) -> Result<Vec<(String, i64)>> {
        let mut st = self.conn.prepare_cached(&sql::event_ids(keys.len())).map_err(db_error)?;
        st.query_map(params_from_iter(keys), |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(db_error)
    }

    async fn insert_recordings(&mut self, rows: &[(i64, &str, NaiveDateTime)]) -> Result<()> {
        let args: Vec<Value> = rows
            .iter()
            .flat_map(|(id, file, at)| [Value::Integer(*id), Value::Text((*file).to_string()), text(*at)])
            .collect();
        let sql = sql::insert_recordings(&SQLITE, rows.len());
        self.conn.prepare_cached(&sql).and_then(|mut st| st.execute(params_from_iter(args))).map_err(db_error)?;
        Ok(())
    }

    /// One row each, its changed columns only. `updated_at` as `CURRENT_TIMESTAMP` would set it
    /// (UTC, whole seconds), not read back with `RETURNING`: SQLite gathers a `RETURNING`
    /// statement's rows in a temporary table it opens and closes each time. Only a row already
    /// stamped with this very second is read back: the `updated_at` trigger stamps it again with
    /// SQLite's own clock, which may have passed into the next second since `at` was read (the
    /// whole loop lies between).
    async fn update_calls(&mut self, calls: &mut Calls) -> Result<()> {
        let at = db_time(Utc::now());
        let stamped = at.and_utc();
        for h in calls.values_mut() {
            self.update_call(h, at, stamped)?;
        }
        Ok(())
    }

    async fn drop_marks(&mut self, ids: &[i64]) -> Result<()> {
        let mut st = self.conn.prepare_cached(&sql::drop_marks(ids.len())).map_err(db_error)?;
        st.execute(params_from_iter(ids)).map_err(db_error)?;
        Ok(())
    }

    /// Nothing to read: [`BatchIo::update_calls`] set it.
    async fn read_back_updated_at(&mut self, _calls: &mut Calls, _done: &[Done]) -> Result<()> {
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        self.run("COMMIT")
    }

    /// Not committed (nothing to keep, an error, or a failed commit): nothing of it stays, and
    /// nothing kept is trusted any more.
    async fn roll_back(&mut self) {
        if !self.conn.is_autocommit()
            && let Err(e) = self.conn.prepare_cached("ROLLBACK").and_then(|mut st| st.execute([]))
        {
            tracing::warn!("the webhook writer could not roll back: {e}");
        }
        self.recent.forget();
    }

    fn committed(&mut self, calls: Calls) {
        self.recent.keep(self.conn, calls);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some("test".into()))
    }

    #[test]
    fn only_the_file_or_its_lock_counts_as_unavailable() {
        use rusqlite::ffi;
        for code in
            [ffi::SQLITE_BUSY, ffi::SQLITE_LOCKED, ffi::SQLITE_IOERR_FSYNC, ffi::SQLITE_FULL, ffi::SQLITE_CANTOPEN]
        {
            assert!(db_error(failure(code)).is_unavailable(), "code {code}");
        }
        for code in
            [ffi::SQLITE_CONSTRAINT_CHECK, ffi::SQLITE_CONSTRAINT_TRIGGER, ffi::SQLITE_MISMATCH, ffi::SQLITE_ERROR]
        {
            let e = db_error(failure(code));
            assert!(!e.is_unavailable(), "code {code}: {e}");
        }
        assert!(!db_error(rusqlite::Error::QueryReturnedNoRows).is_unavailable());
    }
}
