//! The thread that owns the webhook writer's SQLite connection: it takes batches from
//! [`crate::store::Store::apply_events`] and single webhooks from a listener
//! ([`SqliteWriter::submit`]), stores those queued together in one transaction
//! ([`super::rusqlite_io`]), answers them after the commit, and keeps the write-ahead log short
//! between batches ([`super::wal`]).

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::rules::{ApplyOutcome, MAX_BATCH};
use super::rusqlite_io::{Recent, apply_events};
use super::wal::Wal;
use crate::domain::ProviderEvent;
use crate::store::{Result, StoreError};

/// What a webhook's submitter does with its outcome, on the writer thread, right after the
/// commit that holds the event (in batch order): tell the UI, answer the request.
pub(crate) type Then = Box<dyn FnOnce(&ProviderEvent, Result<ApplyOutcome>) + Send>;

// `One` is the hot path: boxing it would cost an allocation per webhook.
#[allow(clippy::large_enum_variant)]
enum Job {
    /// A batch from [`crate::store::Store::apply_events`], answered as a whole.
    Batch(Vec<(ProviderEvent, DateTime<Utc>)>, oneshot::Sender<Vec<Result<ApplyOutcome>>>),
    /// One webhook from a listener. Those queued together share a transaction.
    One(ProviderEvent, DateTime<Utc>, Then),
}

/// A writer for a file, started when first needed (a listener starting, or the first batch).
#[derive(Debug)]
pub(crate) struct Lazy {
    path: PathBuf,
    writer: std::sync::OnceLock<SqliteWriter>,
}

impl Lazy {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path, writer: std::sync::OnceLock::new() }
    }

    pub(crate) fn get(&self) -> &SqliteWriter {
        self.writer.get_or_init(|| SqliteWriter::start(&self.path))
    }
}

/// The writer thread's door; the thread ends when the last clone is dropped.
#[derive(Clone, Debug)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the webhook writer stopped".into())
}

impl SqliteWriter {
    /// Starts the thread on the database file at `path`.
    pub(crate) fn start(path: &Path) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>();
        let path = path.to_path_buf();
        let spawned = std::thread::Builder::new().name("calldesk-sqlite-ingest".into()).spawn(move || run(&path, &rx));
        if let Err(e) = spawned {
            tracing::error!("the webhook writer thread could not start: {e}");
        }
        Self { jobs }
    }

    /// Stores and applies `events` as [`crate::store::Store::apply_events`] says.
    pub(crate) async fn apply_events(&self, events: Vec<(ProviderEvent, DateTime<Utc>)>) -> Vec<Result<ApplyOutcome>> {
        let n = events.len();
        let (tx, rx) = oneshot::channel();
        if self.jobs.send(Job::Batch(events, tx)).is_err() {
            return (0..n).map(|_| Err(stopped())).collect();
        }
        rx.await.unwrap_or_else(|_| (0..n).map(|_| Err(stopped())).collect())
    }

    /// Queues one webhook: stored with whatever else is queued, then `then` runs on the writer
    /// thread with its outcome (at once, with an error, if the writer has stopped).
    pub(crate) fn submit(&self, ev: ProviderEvent, now: DateTime<Utc>, then: Then) {
        if let Err(mpsc::SendError(Job::One(ev, _, then))) = self.jobs.send(Job::One(ev, now, then)) {
            then(&ev, Err(stopped()));
        }
    }
}

/// How long the writer keeps one connection: as the sqlx pool recycles its own, so a database
/// file replaced under a running server is written again within minutes.
const REOPEN_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

/// The writer's connection: opened for the first batch, and again after a failure to open, a
/// panic, or [`REOPEN_AFTER`].
struct Conn<'a> {
    path: &'a Path,
    conn: Option<Connection>,
    opened: std::time::Instant,
    wal: Wal,
    /// The calls the last batches committed, for the next (dropped with the connection).
    recent: Recent,
}

impl Conn<'_> {
    /// Between batches, once their requests are answered: keeps the log short ([`Wal`]). Looks
    /// whether a job is waiting (keeping it in `next`).
    fn tidy(&mut self, rx: &mpsc::Receiver<Job>, next: &mut Option<Job>) {
        if next.is_none()
            && let Ok(job) = rx.try_recv()
        {
            *next = Some(job);
        }
        if let Some(c) = &self.conn {
            self.wal.after_commit(c, next.is_none());
        }
    }

    fn apply(&mut self, events: &[(ProviderEvent, DateTime<Utc>)]) -> Vec<Result<ApplyOutcome>> {
        if self.opened.elapsed() >= REOPEN_AFTER {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.opened = std::time::Instant::now();
            // A fresh copying thread too, with its own fresh connection (the file may have been
            // replaced); the old one ends.
            self.wal = Wal::new(self.path);
            self.recent.forget();
            self.conn = open(self.path)
                .map_err(|e| tracing::error!("the webhook writer could not open {}: {e}", self.path.display()))
                .ok();
        }
        let failed = |why: &str| events.iter().map(|_| Err(StoreError::Unavailable(why.to_string()))).collect();
        let Some(c) = self.conn.as_mut() else { return failed("the webhook writer cannot open the database") };
        let recent = &mut self.recent;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| apply_events(c, recent, events))) {
            Ok(out) => {
                if !c.is_autocommit() {
                    // A transaction left open (its rollback failed): nothing more could be
                    // written on this connection.
                    self.conn = None;
                }
                out
            }
            Err(_) => {
                self.recent.forget();
                // Nothing of the batch was committed (the transaction rolls back when the
                // connection goes); the next batch gets a fresh connection.
                self.conn = None;
                failed("the webhook writer failed; try again")
            }
        }
    }
}

fn run(path: &Path, rx: &mpsc::Receiver<Job>) {
    let mut conn =
        Conn { path, conn: None, opened: std::time::Instant::now(), wal: Wal::new(path), recent: Recent::default() };
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            // While a checkpoint waits for the writer, it comes back even if no webhook does.
            None if conn.wal.pending() && conn.conn.is_some() => {
                match rx.recv_timeout(std::time::Duration::from_millis(20)) {
                    Ok(job) => job,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        conn.tidy(rx, &mut next);
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        match job {
            Job::Batch(events, done) => {
                let _ = done.send(conn.apply(&events));
                conn.tidy(rx, &mut next);
            }
            Job::One(ev, now, then) => {
                // Everything queued meanwhile joins this transaction (no timer: a lone webhook
                // is stored at once).
                let (mut events, mut thens) = (vec![(ev, now)], vec![then]);
                while events.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(Job::One(ev, now, then)) => {
                            events.push((ev, now));
                            thens.push(then);
                        }
                        Ok(batch) => {
                            next = Some(batch);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let outcomes = conn.apply(&events);
                tracing::debug!(events = events.len(), "webhook batch committed");
                for (((ev, _), then), outcome) in events.iter().zip(thens).zip(outcomes) {
                    // A callback that panics loses its own answer (its request gets an error),
                    // not the writer.
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| then(ev, outcome))).is_err() {
                        tracing::error!(key = %ev.dedup_key, "answering a stored webhook failed");
                    }
                }
                conn.tidy(rx, &mut next);
            }
        }
    }
}

/// Bytes the write-ahead log file keeps once it starts over (4 MiB: SQLite's own 1,000 pages).
const JOURNAL_SIZE_LIMIT: i64 = 4 << 20;

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A log that a burst (or a reader holding it) made long is cut back to this when it starts
    // over, rather than kept at its longest.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    conn.set_prepared_statement_cache_capacity(256);
    // The log is checkpointed off the commit path (see `super::wal`).
    Wal::watch(&conn);
    Ok(conn)
}

/// The file behind a `sqlite://` URL, unless it is an in-memory database.
pub(crate) fn file_of(url: &str, filename: &Path) -> Option<PathBuf> {
    let memory = url.contains(":memory:") || url.contains("mode=memory") || filename.as_os_str().is_empty();
    (!memory).then(|| filename.to_path_buf())
}
