//! Webhooks stored in group commit: a batch of provider events in ONE transaction, each event
//! with exactly the rules [`Store::apply_event`] states (de-duplication, forward-only status,
//! provisional marks, recordings), as if applied one after the other in batch order.
//!
//! The batch reads what it needs up front (keys already stored, the calls and their marks),
//! applies the events in memory in order, then writes with a few statements whatever its size:
//! multi-row inserts of the events (and of the recordings), the calls it changed; and commits
//! once. Should anything fail, the batch is rolled back and each event is tried again in a
//! transaction of its own, so one bad event fails alone.
//!
//! The rooms, from the rules out:
//! - [`rules`]: what a batch decides, in memory, with no I/O (which calls, what each event does).
//! - [`batch`]: the batch itself, written once over [`batch::BatchIo`], the few ways a backend
//!   talks to the database (its module doc says why the trait is async and how the SQLite writer
//!   runs it without waiting).
//! - [`sqlx_io`]: [`batch::BatchIo`] over a sqlx transaction: MariaDB, and SQLite in memory.
//! - [`rusqlite_io`] (and [`rusqlite_values`]): [`batch::BatchIo`] on a SQLite file's writer
//!   thread, with a plain connection and the calls it committed last kept for the next batch.
//! - [`sql`]: the statements both send alike, and the padding that keeps their shapes few.
//! - [`writer`] and [`wal`]: the SQLite file's writer thread, which gathers webhooks into batches
//!   and answers them, and the upkeep of its write-ahead log.

use chrono::{DateTime, Utc};

mod batch;
mod rules;
mod rusqlite_io;
mod rusqlite_values;
mod sql;
mod sqlx_io;
mod wal;
pub(crate) mod writer;

pub use rules::{ApplyOutcome, MAX_BATCH};

use super::{Result, Store, StoreError};
use crate::domain::ProviderEvent;

/// An event and when it was received.
pub type Received<'a> = (&'a ProviderEvent, DateTime<Utc>);

impl Store {
    /// The thread that stores webhooks on a SQLite file, for a listener to hand them to directly
    /// ([`writer::SqliteWriter::submit`]); `None` on MariaDB and in-memory SQLite, where
    /// [`Store::apply_events`] is the way in.
    pub(crate) fn webhook_writer(&self) -> Option<&writer::SqliteWriter> {
        self.sqlite_writer.as_ref().map(|w| w.get())
    }

    /// Whether webhooks go to [`Store::webhook_writer`] (without starting its thread).
    pub(crate) fn has_webhook_writer(&self) -> bool {
        self.sqlite_writer.is_some()
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
        batch::apply_events(&mut sqlx_io::SqlxIo::new(self), events).await
    }

    /// Stores `ev` and applies it to its call in one transaction. A duplicate changes nothing; an
    /// event for no known call is kept for audit. The status only moves forward; the duration is
    /// taken from leg B's report. (A batch of one: see [`Store::apply_events`].)
    #[tracing::instrument(skip_all, fields(key = %ev.dedup_key), err)]
    pub async fn apply_event(&self, ev: &ProviderEvent, now: DateTime<Utc>) -> Result<ApplyOutcome> {
        self.apply_events(&[(ev, now)]).await.pop().unwrap_or_else(|| Err(StoreError::NotFound("no outcome".into())))
    }
}
