//! The batch over a sqlx transaction: MariaDB, and SQLite in memory (a file has its writer
//! thread, [`super::rusqlite_io`]). Few statements whatever the batch's size, as each is a round
//! trip: on MariaDB the calls and their marks are read under row locks (a locking read sees the
//! rows as committed now, not as the transaction's first read saw them), every changed call is
//! updated in one statement, and the `updated_at` the database set is read back before the commit.

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::{MySql, Sqlite, Transaction};

use super::batch::{BatchIo, Inserted};
use super::rules::{Calls, Done, EventRow, Held, LEGACY_REPORT_WINDOW, touched};
use super::sql::{self, marks, padded};
use crate::domain::{CallLog, ProviderEvent};
use crate::store::calls::CALL_COLUMNS;
use crate::store::{Backend, InsertedId, MYSQL, Result, SQLITE, Store, StoreError, db_time};

enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    MySql(Transaction<'static, MySql>),
}

/// A batch's transaction on the store's pool, once begun.
pub(super) struct SqlxIo<'s> {
    store: &'s Store,
    tx: Option<Tx>,
}

impl<'s> SqlxIo<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Self { store, tx: None }
    }
}

/// Runs `$body` with `$tx` bound to the open transaction's connection and `$d` to its
/// [`crate::store::Dialect`] (as [`crate::store::with_pool!`] does for a pool).
macro_rules! with_tx {
    ($io:expr, |$tx:ident, $d:ident| $body:expr) => {
        match $io.tx.as_mut() {
            Some(Tx::Sqlite(t)) => {
                let $tx = &mut **t;
                #[allow(unused_variables)]
                let $d = &SQLITE;
                $body
            }
            Some(Tx::MySql(t)) => {
                let $tx = &mut **t;
                #[allow(unused_variables)]
                let $d = &MYSQL;
                $body
            }
            None => Err(StoreError::Unavailable("the webhook batch has no transaction".into())),
        }
    };
}

/// Reads calls: `SELECT … WHERE {filter} ORDER BY id` with the lock, binding each of `args`.
macro_rules! calls_where {
    ($io:expr, $filter:expr, $args:expr) => {
        with_tx!($io, |tx, d| {
            let sql = format!("{CALL_COLUMNS} WHERE {} ORDER BY id{}", $filter, d.for_update);
            let mut q = sqlx::query_as::<_, CallLog>(sqlx::AssertSqlSafe(sql));
            for a in $args {
                q = q.bind(*a);
            }
            Ok(q.fetch_all(&mut *tx).await?)
        })
    };
}

impl BatchIo for SqlxIo<'_> {
    async fn begin(&mut self) -> Result<()> {
        self.tx = Some(match &self.store.backend {
            Backend::Sqlite(p) => Tx::Sqlite(p.begin_with(SQLITE.begin_write).await?),
            Backend::MySql(p) => Tx::MySql(p.begin_with(MYSQL.begin_write).await?),
        });
        Ok(())
    }

    async fn stored_keys(&mut self, keys: &[&str]) -> Result<Vec<String>> {
        with_tx!(self, |tx, d| {
            let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql::stored_keys(keys.len())));
            for k in keys {
                q = q.bind(*k);
            }
            Ok(q.fetch_all(&mut *tx).await?.into_iter().map(|(k,)| k).collect())
        })
    }

    async fn calls_by_id(&mut self, ids: &[i64]) -> Result<Vec<CallLog>> {
        calls_where!(self, format!("id IN ({})", marks(ids.len())), ids)
    }

    async fn calls_by_request_id(&mut self, request_ids: &[&str]) -> Result<Vec<CallLog>> {
        calls_where!(self, format!("reference_id IN ({})", marks(request_ids.len())), request_ids)
    }

    async fn marks(&mut self, ids: &[i64]) -> Result<Vec<(i64, String, String)>> {
        with_tx!(self, |tx, d| {
            let mut q =
                sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql::marks_of(ids.len(), d.for_update)));
            for id in ids {
                q = q.bind(*id);
            }
            Ok(q.fetch_all(&mut *tx).await?)
        })
    }

    async fn legacy_call(&mut self, ev: &ProviderEvent, now: DateTime<Utc>) -> Result<Option<CallLog>> {
        with_tx!(self, |tx, d| {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql::legacy_call(d.for_update)))
                .bind(ev.telecmi_user.as_deref())
                .bind(ev.number.as_deref())
                .bind(ev.kind == "cdr")
                .bind(db_time(now - LEGACY_REPORT_WINDOW))
                .fetch_optional(&mut *tx)
                .await?)
        })
    }

    async fn insert_events(&mut self, rows: &[EventRow<'_>]) -> Result<Inserted> {
        with_tx!(self, |tx, d| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql::insert_events(d, rows.len())));
            for r in rows {
                q = q
                    .bind(r.at)
                    .bind(&r.ev.dedup_key)
                    .bind(r.call)
                    .bind(r.ev.request_id.as_deref())
                    .bind(&r.ev.kind)
                    .bind(r.leg.as_str())
                    .bind(&r.ev.provider_status)
                    .bind(&r.ev.payload);
            }
            let result = q.execute(&mut *tx).await?;
            let n = rows.len() as u64;
            // SQLite gives one statement's rows consecutive rowids in order (one writer holds the
            // database), and reports the last; MariaDB does not promise consecutive ids.
            let first_id = (d.for_update.is_empty() && result.rows_affected() == n)
                .then(|| result.inserted_id() - rows.len() as i64 + 1);
            Ok(Inserted { rows: result.rows_affected(), first_id })
        })
    }

    async fn event_ids(&mut self, keys: &[&str]) -> Result<Vec<(String, i64)>> {
        with_tx!(self, |tx, d| {
            let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql::event_ids(keys.len())));
            for k in keys {
                q = q.bind(*k);
            }
            Ok(q.fetch_all(&mut *tx).await?)
        })
    }

    async fn insert_recordings(&mut self, rows: &[(i64, &str, NaiveDateTime)]) -> Result<()> {
        with_tx!(self, |tx, d| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql::insert_recordings(d, rows.len())));
            for (id, file, at) in rows {
                q = q.bind(*id).bind(*file).bind(*at);
            }
            q.execute(&mut *tx).await?;
            Ok(())
        })
    }

    /// Every changed call in one statement ([`update_calls`]); the database sets `updated_at`.
    async fn update_calls(&mut self, calls: &mut Calls) -> Result<()> {
        let dirty: Vec<&Held> = padded(calls.values().filter(|h| h.changed()).collect());
        if dirty.is_empty() {
            return Ok(());
        }
        with_tx!(self, |tx, d| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(update_calls(dirty.len())));
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
            q.execute(&mut *tx).await?;
            Ok(())
        })
    }

    async fn drop_marks(&mut self, ids: &[i64]) -> Result<()> {
        with_tx!(self, |tx, d| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql::drop_marks(ids.len())));
            for id in ids {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await?;
            Ok(())
        })
    }

    /// What the database set itself: `updated_at` (its trigger or ON UPDATE). Every other column
    /// is as the batch bound it, on rows locked since they were read. A locking read (on MariaDB):
    /// the rows as they are, not as the transaction's first read saw them.
    async fn read_back_updated_at(&mut self, calls: &mut Calls, done: &[Done]) -> Result<()> {
        let touched = padded(touched(done));
        if touched.is_empty() {
            return Ok(());
        }
        let stamped: Vec<(i64, Option<DateTime<Utc>>)> = with_tx!(self, |tx, d| {
            let sql =
                format!("SELECT id, updated_at FROM call_logs WHERE id IN ({}){}", marks(touched.len()), d.for_update);
            let mut q = sqlx::query_as::<_, (i64, Option<DateTime<Utc>>)>(sqlx::AssertSqlSafe(sql));
            for id in &touched {
                q = q.bind(*id);
            }
            Ok(q.fetch_all(&mut *tx).await?)
        })?;
        for (id, at) in stamped {
            if let Some(h) = calls.get_mut(&id) {
                h.call.updated_at = at;
            }
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        match self.tx.take() {
            Some(Tx::Sqlite(t)) => t.commit().await?,
            Some(Tx::MySql(t)) => t.commit().await?,
            None => return Err(StoreError::Unavailable("the webhook batch has no transaction".into())),
        }
        Ok(())
    }

    /// The transaction is dropped: sqlx rolls it back as the connection goes back to the pool.
    async fn roll_back(&mut self) {
        self.tx = None;
    }
}

/// Sets (status, call_duration, remarks, reference_id) of `n` calls in one statement that finds
/// each row by its primary key on either backend (a join with a derived table makes MariaDB scan
/// and lock the whole table). Binds (id, value) pairs per column, then the ids.
fn update_calls(n: usize) -> String {
    let case = |col: &str| format!("{col} = CASE id{} END", " WHEN ? THEN ?".repeat(n));
    format!(
        "UPDATE call_logs SET {}, {}, {}, {} WHERE id IN ({})",
        case("status"),
        case("call_duration"),
        case("remarks"),
        case("reference_id"),
        marks(n)
    )
}
