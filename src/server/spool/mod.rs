//! Webhooks kept while the database does not answer (DESIGN.md, "When the database goes away").
//!
//! A webhook the database does not take within [`BUDGET`] (it timed out, or the database said it
//! is unavailable) is appended to the spool file ([`file`]), fsync'd, and only then answered 200
//! (`"result": "spooled"`). While the spool holds anything, new webhooks go to it too: TeleCMI's
//! events of a call are applied in the order they were acknowledged. A background task
//! ([`drain`]) applies the spool as soon as the database answers, in order, and empties it; every
//! event carries its de-duplication key, so an event applied twice (a timed-out submission that
//! still committed, a crash before the progress mark) is a duplicate the second time, and each is
//! applied once. An event the database refuses for a reason of its own is set aside (`.rejected`
//! beside the spool, logged as an error) and never blocks the ones behind it.
//!
//! Another spool in the folder holding webhooks nobody applies (its database's address spelled
//! otherwise when it was written: [`file::orphans`]) is logged as an error on open and keeps
//! /healthz degraded until an operator deals with it (README, "When the database goes away").

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ingest::Ingest;
use crate::coord::bus::Bus;
use crate::coord::outage::Outage;
use crate::domain::ProviderEvent;
use crate::store::{ApplyOutcome, Store};

mod drain;
pub mod file;

pub use file::{Entry, Orphan, SpoolError, SpoolFile};

/// How long a webhook waits for the database before it is spooled instead.
pub const BUDGET: Duration = Duration::from_secs(2);

/// How often a waiting spool asks whether the database answers again.
pub const RETRY_EVERY: Duration = Duration::from_millis(500);

/// Where the spool lives and how patient it is.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `CALLDESK_DATA_DIR`.
    pub dir: PathBuf,
    /// [`BUDGET`] (tests shorten it).
    pub budget: Duration,
    /// [`RETRY_EVERY`] (tests shorten it).
    pub retry_every: Duration,
}

impl Settings {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir, budget: BUDGET, retry_every: RETRY_EVERY }
    }
}

/// What became of a webhook handed to the spooler.
#[derive(Debug)]
pub enum Taken {
    /// The database took it.
    Stored(ApplyOutcome),
    /// On disk in the spool; how many wait now.
    Spooled(usize),
    /// The database refused it for a reason of its own: kept in the `.rejected` file.
    SetAside(String),
    /// Neither the database nor the spool file took it.
    Lost(String),
}

/// The spool of one listener. Cheap to clone; its drain task stops once every clone is gone.
#[derive(Debug, Clone)]
pub struct Spooler {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: Mutex<SpoolFile>,
    /// Lines in the file not yet applied.
    waiting: AtomicUsize,
    /// The last append failed: the spool cannot take webhooks (a full disk).
    broken: AtomicBool,
    budget: Duration,
    retry_every: Duration,
    /// The database's identity, written in every line.
    db: String,
    /// Other spools in the folder with webhooks nobody applies, found on open.
    orphans: Vec<Orphan>,
    store: Store,
    bus: Bus,
    outage: Outage,
}

impl Spooler {
    /// Opens (and locks) the spool of `store`'s database (its file name holds a hash of the
    /// database's name, so a spool is never applied to another database) and starts its drain task, which
    /// applies first whatever an earlier run left. Needs a Tokio runtime.
    pub fn open(settings: &Settings, store: Store, bus: Bus, outage: Outage) -> Result<Self, SpoolError> {
        let (path, opened) = open_free(settings, store.label())?;
        if opened.torn > 0 {
            tracing::warn!(
                spool = %path.display(),
                bytes = opened.torn,
                "webhook spool: cut off a torn last line (a crash mid-write; it was never acknowledged)"
            );
        }
        let orphans = file::orphans(&settings.dir, &path);
        for o in &orphans {
            tracing::error!(
                orphan = %o.path.display(),
                lines = o.lines,
                database = o.db.as_deref().unwrap_or("(not recorded)"),
                ours = %path.display(),
                "webhook spool: ANOTHER SPOOL holds acknowledged webhooks that nobody applies (written when the \
                 database was named otherwise?); if it names this database, stop calldesk and append it to ours \
                 (README, \"When the database goes away\")"
            );
        }
        let left = opened.spool.pending().map_err(|e| SpoolError::Io(path.clone(), e))?;
        let waiting = left.len();
        if waiting > 0 {
            tracing::warn!(spool = %path.display(), waiting, "webhook spool: webhooks left by an earlier run; applying them first");
            // The outage began, at the latest, when the first of them came.
            let first = left.iter().find_map(|p| p.entry.as_ref().ok().map(|e| e.at));
            outage.began(first.unwrap_or_else(Utc::now));
        }
        let inner = Arc::new(Inner {
            file: Mutex::new(opened.spool),
            waiting: AtomicUsize::new(waiting),
            broken: AtomicBool::new(false),
            budget: settings.budget,
            retry_every: settings.retry_every,
            db: file::database_identity(store.label()),
            orphans,
            store,
            bus,
            outage,
        });
        tokio::spawn(drain::run(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// Webhooks waiting in the spool.
    pub fn waiting(&self) -> usize {
        self.inner.waiting.load(Ordering::SeqCst)
    }

    /// Whether the spool can take webhooks (its last write worked).
    pub fn healthy(&self) -> bool {
        !self.inner.broken.load(Ordering::SeqCst)
    }

    /// Other spools in the folder holding webhooks nobody applies (found on open).
    pub fn orphans(&self) -> &[Orphan] {
        &self.inner.orphans
    }

    /// The time a webhook waits for the database (and a health check's ping).
    pub fn budget(&self) -> Duration {
        self.inner.budget
    }

    /// Stores `ev` (whose raw `body` arrived at `at`) through `ingest` within the budget, or spools
    /// it: straight to the spool while the spool holds anything, so order holds.
    pub async fn take(&self, ingest: &Ingest, ev: ProviderEvent, body: &[u8], at: DateTime<Utc>) -> Taken {
        if self.waiting() > 0 {
            return self.spool(body, at).await;
        }
        match tokio::time::timeout(self.inner.budget, ingest.submit(ev, at)).await {
            Ok(Ok(outcome)) => Taken::Stored(outcome),
            Ok(Err(e)) if e.is_unavailable() => {
                tracing::warn!("webhook: the database is unavailable ({e}); spooling");
                self.inner.outage.began(at);
                self.spool(body, at).await
            }
            Ok(Err(e)) => Taken::SetAside(self.set_aside(body, at, &e.to_string()).await),
            Err(_) => {
                tracing::warn!(budget = ?self.inner.budget, "webhook: the database did not answer in time; spooling");
                // Slow is not down: the outage (and the check of every call since, after it) is
                // declared only when a quick ping does not answer either. The ping runs beside the
                // answer, which must not wait for it; the webhook is spooled either way.
                let inner = self.inner.clone();
                tokio::spawn(async move {
                    let ping = tokio::time::timeout(inner.budget, inner.store.ping()).await;
                    if matches!(ping, Ok(Ok(()))) {
                        tracing::info!("webhook: the database was only slow (it answers a ping): no outage");
                    } else {
                        tracing::warn!("webhook: the database does not answer a ping either: an outage");
                        inner.outage.began(at);
                    }
                });
                self.spool(body, at).await
            }
        }
    }

    /// Appends to the spool and waits for the fsync.
    async fn spool(&self, body: &[u8], at: DateTime<Utc>) -> Taken {
        let entry = Entry { at, body: String::from_utf8_lossy(body).into_owned(), db: Some(self.inner.db.clone()) };
        let inner = self.inner.clone();
        let written = tokio::task::spawn_blocking(move || {
            let mut f = inner.lock_file();
            f.append(&entry)?;
            // Counted under the file's lock, before the answer: a webhook arriving after this
            // one's answer sees the spool is not empty.
            Ok::<usize, std::io::Error>(inner.waiting.fetch_add(1, Ordering::SeqCst) + 1)
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match written {
            Ok(waiting) => {
                self.inner.broken.store(false, Ordering::SeqCst);
                tracing::info!(waiting, "webhook spooled");
                Taken::Spooled(waiting)
            }
            Err(e) => {
                self.inner.broken.store(true, Ordering::SeqCst);
                tracing::error!("webhook NOT spooled (the database is unavailable too): {e}");
                Taken::Lost(e.to_string())
            }
        }
    }

    /// Keeps a webhook the database refused in the `.rejected` file; returns why, for the answer.
    async fn set_aside(&self, body: &[u8], at: DateTime<Utc>, why: &str) -> String {
        let entry = Entry { at, body: String::from_utf8_lossy(body).into_owned(), db: Some(self.inner.db.clone()) };
        let line = serde_json::to_string(&entry).unwrap_or_default();
        self.inner.set_aside(line, why.to_string()).await;
        why.to_string()
    }
}

/// Listeners of one database on one host at most (each its own spool file).
const LISTENERS_PER_HOST: usize = 8;

/// The first spool of this database that no other listener on this host holds (`serve` and a
/// console's own listener beside it each keep their own).
fn open_free(settings: &Settings, label: &str) -> Result<(PathBuf, file::Opened), SpoolError> {
    let mut held = None;
    for n in 1..=LISTENERS_PER_HOST {
        let path = file::path_for_nth(&settings.dir, label, n);
        match SpoolFile::open(&path) {
            Ok(opened) => return Ok((path, opened)),
            Err(e @ SpoolError::Held(_)) => held = held.or(Some(e)),
            Err(e) => return Err(e),
        }
    }
    Err(held.unwrap_or_else(|| SpoolError::Held(file::path_for(&settings.dir, label))))
}

impl Inner {
    fn lock_file(&self) -> MutexGuard<'_, SpoolFile> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `line` to the `.rejected` file and logs an error saying why.
    async fn set_aside(self: &Arc<Self>, line: String, why: String) {
        let me = self.clone();
        let kept = tokio::task::spawn_blocking(move || me.lock_file().set_aside(&line, &why).map(|p| (p, why)))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
        match kept {
            Ok((path, why)) => {
                tracing::error!(rejected = %path.display(), "webhook set aside, the database refused it: {why}");
            }
            Err(e) => tracing::error!("webhook refused by the database and could not be set aside: {e}"),
        }
    }
}
