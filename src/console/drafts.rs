//! Writes wrap-up drafts as they are typed: to the database and, for a console, to its local draft
//! file ([`DraftFile`]) as well, each on its own lane so the file never waits on a database that
//! does not answer. At start the newer copy of each draft is reopened (issue 26).
//!
//! Each lane writes one batch at a time and in order: a draft waiting while an older one of the
//! same call is written replaces it, so a copy never goes back to older text and is at most one
//! write behind the keyboard (a kill -9 loses at most that write). Every draft carries its
//! [`DraftVersion`] (the session and this writer's counter) into both copies. A database write
//! that failed for want of the database is tried again, with a growing pause, until it answers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::domain::CallLog;
use crate::domain::draft::{DraftVersion, local_is_newer};
use crate::store::draft_file::{DraftFile, DraftFileError, KeptDraft};
use crate::store::{FeedbackDraft, Store};

/// How long one database write of a draft may take before it counts as failed (a paused server
/// holds the connection open and answers nothing).
const DB_WRITE_WAIT: Duration = Duration::from_secs(5);
/// The longest pause between tries of a failed write.
const RETRY_MAX: Duration = Duration::from_secs(10);

/// What a lane does for a call.
#[derive(Debug, Clone)]
enum Job {
    /// Store this draft (this edit of it).
    Keep(FeedbackDraft, DraftVersion),
    /// The call's outcome is saved: its draft goes (the save drops the database's row itself).
    Forget,
    /// Local file only: whether a save of the call's draft was asked for, as [`Requested`] says
    /// when it is written; the draft to keep if the file has none of the call.
    Mark(Option<FeedbackDraft>),
}

/// The calls whose save the agent pressed and which wait for the database (kept with their draft
/// in the local file, so the next console makes the save if this one closes first).
type Requested = Arc<Mutex<std::collections::BTreeSet<i64>>>;

fn requested(r: &Requested) -> MutexGuard<'_, std::collections::BTreeSet<i64>> {
    r.lock().unwrap_or_else(PoisonError::into_inner)
}

/// By call id: the sequence number and the newest job.
type Pending = BTreeMap<i64, (u64, Job)>;
/// A lane's batch: (call id, sequence number, job).
type Batch = Vec<(i64, u64, Job)>;
/// Writes a batch; returns what failed and is to be tried again.
type WriteFn = Box<dyn FnMut(Batch) -> BoxFuture<'static, Batch> + Send>;

fn lock(m: &Mutex<Pending>) -> MutexGuard<'_, Pending> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One writer task and what waits for it.
#[derive(Clone)]
struct Lane {
    pending: Arc<Mutex<Pending>>,
    wake: Arc<Notify>,
    /// The sequence number up to which every job is done (written, or given up).
    done: watch::Receiver<u64>,
    /// Set by [`Lane::close`]: the task ends once nothing is pending.
    closing: Arc<AtomicBool>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Lane {
    fn start(write: WriteFn) -> Self {
        let pending = Arc::new(Mutex::new(Pending::new()));
        let wake = Arc::new(Notify::new());
        let (done_tx, done) = watch::channel(0u64);
        let closing = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run_lane(pending.clone(), wake.clone(), closing.clone(), done_tx, write));
        Self { pending, wake, done, closing, task: Arc::new(Mutex::new(Some(task))) }
    }

    fn push(&self, call_id: i64, seq: u64, job: Job) {
        lock(&self.pending).insert(call_id, (seq, job));
        self.wake.notify_one();
    }

    /// Queues `job` unless a job of the call is pending already (a draft to keep writes the flag
    /// as it is then; a forget drops the draft anyway).
    fn push_unless_pending(&self, call_id: i64, seq: u64, job: Job) {
        lock(&self.pending).entry(call_id).or_insert((seq, job));
        self.wake.notify_one();
    }

    async fn flushed(&self, seq: u64, until: tokio::time::Instant) {
        let mut done = self.done.clone();
        let _ = tokio::time::timeout_at(until, done.wait_for(|d| *d >= seq)).await;
    }

    /// Writes what is pending (one try) and stops; waits at most `limit`.
    async fn close(&self, limit: Duration) {
        self.closing.store(true, Ordering::Release);
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(mut task) = task else { return };
        // A task busy writing keeps this wake-up (Notify stores it); one waiting wakes now.
        self.wake.notify_one();
        if tokio::time::timeout(limit, &mut task).await.is_err() {
            tracing::warn!("the draft writer did not finish in time; stopped");
            task.abort();
            let _ = task.await;
        }
    }
}

/// A lane's loop: wait for work (or for the next try of what failed), write it, repeat.
async fn run_lane(
    pending: Arc<Mutex<Pending>>,
    wake: Arc<Notify>,
    closing: Arc<AtomicBool>,
    done: watch::Sender<u64>,
    mut write: WriteFn,
) {
    let mut retry: Option<Duration> = None;
    loop {
        // Once closing, what is pending is written without waiting, then the task ends.
        if !closing.load(Ordering::Acquire) {
            match retry {
                None => wake.notified().await,
                Some(pause) => {
                    let _ = tokio::time::timeout(pause, wake.notified()).await;
                }
            }
        }
        let closing = closing.load(Ordering::Acquire);
        let batch: Batch = std::mem::take(&mut *lock(&pending)).into_iter().map(|(id, (s, j))| (id, s, j)).collect();
        if batch.is_empty() && closing {
            break;
        }
        let last = batch.iter().map(|(_, s, _)| *s).max().unwrap_or(0);
        let failed = write(batch).await;
        retry = if failed.is_empty() || closing {
            None
        } else {
            let mut p = lock(&pending);
            for (id, seq, job) in failed {
                // A newer draft of the call queued meanwhile replaces the one that failed.
                p.entry(id).or_insert((seq, job));
            }
            Some(retry.map_or(Duration::from_secs(1), |r| (r * 2).min(RETRY_MAX)))
        };
        done.send_if_modified(|d| {
            let moved = last > *d;
            *d = (*d).max(last);
            moved
        });
    }
}

/// Writes wrap-up drafts as they are typed, to the database and (a console's) local file.
#[derive(Clone)]
pub struct DraftWriter {
    next: Arc<AtomicU64>,
    session: Option<i64>,
    db: Lane,
    local: Option<(Lane, DraftFile)>,
    requested: Requested,
}

impl DraftWriter {
    /// Starts the writer on `store` (no session, no local file: tests, tools).
    pub fn start(store: Store) -> Self {
        Self::start_for_session(store, None)
    }

    /// [`Self::start`] for a console's `session`: once that session has been ended by a newer
    /// login that stopped waiting for it, nothing more is written (it would overwrite the draft
    /// being typed in the new console).
    pub fn start_for_session(store: Store, session: Option<i64>) -> Self {
        Self {
            next: Arc::new(AtomicU64::new(1)),
            session,
            db: Lane::start(db_writer(store, session)),
            local: None,
            requested: Requested::default(),
        }
    }

    /// Keeps every draft in `file` as well (a console with a session only): what is typed while
    /// the database is away survives a crash or a dropped line.
    pub fn keeping_locally(mut self, file: DraftFile) -> Self {
        if let Some(session) = self.session {
            tracing::info!(path = %file.path().display(), "wrap-up drafts are kept locally too");
            self.local = Some((Lane::start(file_writer(file.clone(), session, self.requested.clone())), file));
        }
        self
    }

    fn lanes(&self) -> impl Iterator<Item = &Lane> {
        std::iter::once(&self.db).chain(self.local.as_ref().map(|(l, _)| l))
    }

    /// Numbers the job `make` builds and queues it on every lane.
    fn push(&self, call_id: i64, make: impl FnOnce(u64) -> Job) -> u64 {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let job = make(seq);
        for lane in self.lanes() {
            lane.push(call_id, seq, job.clone());
        }
        seq
    }

    /// Queues `draft` (replacing that call's draft not yet written); returns its sequence number.
    pub fn send(&self, draft: FeedbackDraft) -> u64 {
        let session = self.session.unwrap_or(0);
        self.push(draft.call_log_id, |seq| {
            Job::Keep(draft, DraftVersion::new(session, i64::try_from(seq).unwrap_or(i64::MAX)))
        })
    }

    /// The outcome of call `call_id` is saved: its local draft goes, and a draft of it not yet
    /// written is not.
    pub fn forget(&self, call_id: i64) {
        requested(&self.requested).remove(&call_id);
        self.push(call_id, |_| Job::Forget);
    }

    /// The agent pressed save on call `call_id`'s wrap-up and the save waits for the database:
    /// the local file says so with the draft (`draft` kept if it has none of the call), so a
    /// console started after this one closes makes the save.
    pub fn save_requested(&self, call_id: i64, draft: FeedbackDraft) {
        self.mark(call_id, true, Some(draft));
    }

    /// The save of call `call_id` asked for was refused (by a rule): the file no longer asks for it.
    pub fn save_refused(&self, call_id: i64) {
        self.mark(call_id, false, None);
    }

    fn mark(&self, call_id: i64, on: bool, draft: Option<FeedbackDraft>) {
        let Some((lane, _)) = &self.local else { return };
        let changed =
            if on { requested(&self.requested).insert(call_id) } else { requested(&self.requested).remove(&call_id) };
        if changed {
            let seq = self.next.fetch_add(1, Ordering::Relaxed);
            lane.push_unless_pending(call_id, seq, Job::Mark(draft));
        }
    }

    /// Waits (at most `limit`) until the draft numbered `seq` is written (or given up) everywhere.
    pub async fn flushed(&self, seq: u64, limit: Duration) {
        let until = tokio::time::Instant::now() + limit;
        for lane in self.lanes() {
            lane.flushed(seq, until).await;
        }
    }

    /// Writes what is pending and stops the writer (before the database closes under it); waits
    /// at most `limit`. A draft sent after this is not written.
    pub async fn close(&self, limit: Duration) {
        match &self.local {
            Some((file, _)) => {
                tokio::join!(self.db.close(limit), file.close(limit));
            }
            None => self.db.close(limit).await,
        }
    }

    /// The wrap-ups as the database lists them, each draft replaced by the local file's copy when
    /// that is the newer edit (typed while the database was away, then a crash or a dropped line).
    /// A copy reopened from the file is written to the database again at once. The file is
    /// claimed for this session on the way, and drafts of calls no longer waiting leave it.
    pub async fn reopen_newer(
        &self,
        store: &Store,
        caller: i64,
        wrapups: Vec<(CallLog, Option<FeedbackDraft>)>,
    ) -> Vec<(CallLog, Option<FeedbackDraft>)> {
        self.reopen(store, caller, wrapups).await.0
    }

    /// [`Self::reopen_newer`], with the calls whose save the agent pressed in a console that
    /// closed before the database answered (the local file says so): their saves are to be made.
    pub async fn reopen(
        &self,
        store: &Store,
        caller: i64,
        wrapups: Vec<(CallLog, Option<FeedbackDraft>)>,
    ) -> (Vec<(CallLog, Option<FeedbackDraft>)>, Vec<i64>) {
        let (Some((_, file)), Some(session)) = (&self.local, self.session) else { return (wrapups, Vec::new()) };
        let waiting: Vec<i64> = wrapups.iter().map(|(c, _)| c.id).collect();
        let file = file.clone();
        let claimed = tokio::task::spawn_blocking(move || file.claim(session, |id| waiting.contains(&id))).await;
        let kept = match claimed {
            Ok(Ok(k)) => k.drafts,
            Ok(Err(e)) => {
                tracing::warn!("local drafts not read: {e}");
                return (wrapups, Vec::new());
            }
            Err(e) => {
                tracing::warn!("local drafts not read: {e}");
                return (wrapups, Vec::new());
            }
        };
        // Whichever copy of the draft is reopened, a save asked for stays asked for.
        let resave: Vec<i64> =
            wrapups.iter().map(|(c, _)| c.id).filter(|id| kept.get(id).is_some_and(|k| k.save_requested)).collect();
        requested(&self.requested).extend(resave.iter().copied());
        for id in &resave {
            tracing::info!(call_id = id, "a save pressed before the console closed waits: it is made now");
        }
        let stored = store.draft_versions(caller).await.unwrap_or_else(|e| {
            tracing::warn!("could not read which edit each stored draft is ({e}): the local copies are taken");
            std::collections::HashMap::new()
        });
        let wrapups = wrapups
            .into_iter()
            .map(|(call, draft)| {
                let local = kept.get(&call.id).filter(|k| local_is_newer(k.version, stored.get(&call.id).copied()));
                match local {
                    Some(k) => {
                        tracing::info!(
                            call_id = call.id,
                            "draft reopened from the local file: newer than the database's"
                        );
                        let d = FeedbackDraft { call_log_id: call.id, caller_id: caller, ..k.draft.clone() };
                        self.send(d.clone());
                        (call, Some(d))
                    }
                    None => (call, draft),
                }
            })
            .collect();
        (wrapups, resave)
    }
}

/// The database lane: each draft upserted with its version. Nothing is written once `session`
/// has been taken over; a write that failed for want of the database is handed back to try again.
fn db_writer(store: Store, session: Option<i64>) -> WriteFn {
    Box::new(move |batch: Batch| {
        let store = store.clone();
        Box::pin(async move {
            let keeps: Batch = batch.into_iter().filter(|(_, _, j)| matches!(j, Job::Keep(..))).collect();
            if keeps.is_empty() {
                return Vec::new();
            }
            if let Some(id) = session {
                match tokio::time::timeout(DB_WRITE_WAIT, store.session_ended(id)).await {
                    Ok(Ok(true)) => {
                        for (call_id, _, _) in &keeps {
                            tracing::warn!(call_id, "draft not saved: this session was closed by a newer login");
                        }
                        return Vec::new();
                    }
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!("drafts not saved yet, kept to try again: {e}");
                        return keeps;
                    }
                    Err(_) => {
                        tracing::warn!("drafts not saved yet, kept to try again: the database did not answer");
                        return keeps;
                    }
                }
            }
            write_drafts(&store, keeps, Utc::now()).await
        })
    })
}

/// Upserts each draft of `keeps`; returns those to try again (from the first that failed for
/// want of the database on: the rest would only wait for it too).
async fn write_drafts(store: &Store, keeps: Batch, now: DateTime<Utc>) -> Batch {
    let mut again = Vec::new();
    for (call_id, seq, job) in keeps {
        let Job::Keep(draft, version) = &job else { continue };
        if !again.is_empty() {
            again.push((call_id, seq, job));
            continue;
        }
        match tokio::time::timeout(DB_WRITE_WAIT, store.save_draft_as(draft, *version, now)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is_unavailable() => {
                tracing::warn!(call_id, "draft not saved yet, kept to try again: {e}");
                again.push((call_id, seq, job));
            }
            Ok(Err(e)) => tracing::warn!(call_id, "draft not saved: {e}"),
            Err(_) => {
                tracing::warn!(call_id, "draft not saved yet, kept to try again: the database did not answer");
                again.push((call_id, seq, job));
            }
        }
    }
    again
}

/// The local file lane: the batch in one atomic rewrite of the file (on a blocking thread: it
/// fsyncs). Refused for good once a newer session owns the file; an I/O error is tried again.
fn file_writer(file: DraftFile, session: i64, asked: Requested) -> WriteFn {
    Box::new(move |batch: Batch| {
        let file = file.clone();
        let asked = requested(&asked).clone();
        Box::pin(async move {
            let keeps: Vec<KeptDraft> = batch
                .iter()
                .filter_map(|(id, _, j)| match j {
                    Job::Keep(d, v) => Some(KeptDraft {
                        version: *v,
                        written_at: Utc::now(),
                        draft: d.clone(),
                        save_requested: asked.contains(id),
                    }),
                    Job::Forget | Job::Mark(_) => None,
                })
                .collect();
            let marks: Vec<(i64, bool, Option<FeedbackDraft>)> = batch
                .iter()
                .filter_map(|(id, _, j)| match j {
                    Job::Mark(d) => Some((*id, asked.contains(id), d.clone())),
                    _ => None,
                })
                .collect();
            let forgets: Vec<i64> =
                batch.iter().filter(|(_, _, j)| matches!(j, Job::Forget)).map(|(id, _, _)| *id).collect();
            let written = tokio::task::spawn_blocking(move || {
                if !keeps.is_empty() {
                    file.put(session, keeps)?;
                }
                if !marks.is_empty() {
                    file.mark(session, marks)?;
                }
                if !forgets.is_empty() {
                    file.forget(session, &forgets)?;
                }
                Ok::<(), DraftFileError>(())
            })
            .await;
            match written {
                Ok(Ok(())) => Vec::new(),
                Ok(Err(e @ DraftFileError::TakenOver(_))) => {
                    tracing::warn!("draft not kept locally: {e}");
                    Vec::new()
                }
                Ok(Err(e)) => {
                    tracing::error!("draft not kept locally, trying again: {e}");
                    batch
                }
                Err(e) => {
                    tracing::error!("draft not kept locally: {e}");
                    Vec::new()
                }
            }
        })
    })
}
