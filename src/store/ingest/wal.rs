//! Keeping the write-ahead log of a SQLite file short without stalling the webhook writer.
//!
//! SQLite's own rule (`wal_autocheckpoint`) checkpoints inside the commit that passes 1,000
//! pages: that commit copies 4 MiB into the database and waits for two `fsync`s, and every
//! webhook queued behind it waits too — the slowest answers of a burst. Here the writer's
//! connection leaves that rule off ([`Wal::watch`]) and the copy runs on a thread of its own with
//! its own connection (a PASSIVE checkpoint: it never blocks the writer, which keeps committing
//! meanwhile, and copies again while much is left). What the writer committed during the copy is
//! left; once the copy is done the writer checkpoints that short tail itself, between two batches
//! when no webhook waits for it (at the latest at [`TAIL_BY`] pages), which lets its next
//! transaction start the log over. The copy starts at [`START_AT`] pages, half SQLite's own
//! threshold, which the pool's connections keep. If the copying thread fails or falls behind, the
//! writer waits for it and checkpoints everything itself at [`WRITER_AT`] pages. While a copy is
//! under way the writer comes back every 20 ms even if no webhook arrives.

use std::cell::Cell;
use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;

/// Pages in the log at which a copy starts: half SQLite's own threshold (1,000), which the other
/// connections (the pool: dials, saved outcomes) keep, so the log seldom reaches it and they
/// seldom pay a checkpoint in their commits.
pub(super) const START_AT: i32 = 500;
/// The copying thread copies again while more than this is left (the writer kept committing).
const CLOSE_ENOUGH: i64 = 100;
/// Pages at which the writer finishes a copy that is done even with webhooks waiting (below the
/// pool's 1,000).
const TAIL_BY: i32 = 900;
/// Pages at which the writer finishes the checkpoint itself, waiting for the copying thread if
/// it is still at work.
pub(super) const WRITER_AT: i32 = 1600;
/// How long the writer waits for a copy still running at [`WRITER_AT`].
const WAIT_FOR_COPY: std::time::Duration = std::time::Duration::from_secs(2);

const IDLE: u8 = 0;
const COPYING: u8 = 1;
const COPIED: u8 = 2;

thread_local! {
    /// Pages in the log after this thread's last commit (set by the connection's WAL hook).
    static PAGES: Cell<i32> = const { Cell::new(0) };
}

fn note_pages(_: &rusqlite::hooks::Wal, pages: c_int) -> rusqlite::Result<()> {
    PAGES.with(|p| p.set(pages));
    Ok(())
}

/// The writer's side: when to ask for a copy and when to finish one.
pub(super) struct Wal {
    path: PathBuf,
    state: Arc<AtomicU8>,
    /// Started on the first copy asked for; gone if the thread could not start.
    copier: Option<mpsc::Sender<()>>,
    /// Pages the last checkpoint could not copy (a reader still uses them): the log is counted
    /// from there, so a reader holding the log does not set off a copy after every batch.
    floor: i32,
    /// The writer already waited for the copy under way (it waits once per copy).
    waited: bool,
    /// Pages the copying thread copied (for the tests and the log).
    pub(super) copied_by_thread: Arc<std::sync::atomic::AtomicI64>,
}

impl Wal {
    pub(super) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            state: Arc::new(AtomicU8::new(IDLE)),
            copier: None,
            floor: 0,
            waited: false,
            copied_by_thread: Arc::default(),
        }
    }

    /// Turns SQLite's checkpoint-in-commit off on the writer's `conn` and counts its log pages
    /// instead (for [`Wal::after_commit`], on this thread).
    pub(super) fn watch(conn: &Connection) {
        PAGES.with(|p| p.set(0));
        conn.wal_hook(Some(note_pages));
    }

    /// Whether a copy is under way or waits for the writer to finish it (the writer should come
    /// back soon even if no webhook arrives).
    pub(super) fn pending(&self) -> bool {
        self.state.load(Ordering::Acquire) != IDLE
    }

    /// Called by the writer between batches, with no transaction open on `conn`; `idle` when
    /// no webhook is waiting for it.
    pub(super) fn after_commit(&mut self, conn: &Connection, idle: bool) {
        let total = PAGES.with(Cell::get);
        if total < self.floor {
            self.floor = 0; // the log started over
        }
        let pages = total - self.floor;
        match self.state.load(Ordering::Acquire) {
            // The tail waits for a moment when nobody waits for the writer (its `fsync`s would
            // hold up the next batch), but not past `TAIL_BY`.
            COPIED if idle || pages >= TAIL_BY => self.finish(conn, "the writer (after the copy)"),
            // Asks for a copy; the writer copies itself only if no thread can.
            IDLE if pages >= START_AT && !self.ask_for_copy() => self.finish(conn, "the writer (no copying thread)"),
            COPYING if pages >= WRITER_AT && !self.waited => {
                // The copy fell behind: only one connection checkpoints at a time, so wait for
                // it (once per copy, a while), then finish here.
                self.waited = true;
                let since = std::time::Instant::now();
                while self.state.load(Ordering::Acquire) == COPYING && since.elapsed() < WAIT_FOR_COPY {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                if self.state.load(Ordering::Acquire) == COPIED {
                    self.finish(conn, "the writer (the copy fell behind)");
                } else {
                    tracing::warn!(pages = total, "the write-ahead log copy is slow; the log grows until it ends");
                }
            }
            _ => {}
        }
    }

    /// Checkpoints what is left on the writer's `conn`; once all is copied the next transaction
    /// starts the log over.
    fn finish(&mut self, conn: &Connection, who: &str) {
        self.state.store(IDLE, Ordering::Release);
        match checkpoint(conn, who) {
            // Another connection is checkpointing (the pool's own rule): it copies instead.
            Some((busy, ..)) if busy != 0 => {}
            Some((_, log, copied)) if log >= 0 && copied >= log => {
                // All copied: the next transaction starts the log over. Counted from here, not
                // from the last commit (a batch of duplicates leaves the hook's count as it was).
                PAGES.with(|p| p.set(0));
                self.floor = 0;
            }
            // A reader still uses the rest: wait for more before copying again.
            Some((_, log, _)) => self.floor = i32::try_from(log).unwrap_or(i32::MAX),
            None => {}
        }
    }

    /// Asks the copying thread for a copy (starting it the first time); false if it cannot.
    fn ask_for_copy(&mut self) -> bool {
        if self.copier.is_none() {
            let (tx, rx) = mpsc::channel::<()>();
            let (path, state, copied) = (self.path.clone(), self.state.clone(), self.copied_by_thread.clone());
            let spawned = std::thread::Builder::new()
                .name("calldesk-sqlite-checkpoint".into())
                .spawn(move || copy(&path, &state, &copied, &rx));
            match spawned {
                Ok(_) => self.copier = Some(tx),
                Err(e) => {
                    tracing::error!("the checkpoint thread could not start: {e}");
                    return false;
                }
            }
        }
        self.state.store(COPYING, Ordering::Release);
        self.waited = false;
        if self.copier.as_ref().is_some_and(|c| c.send(()).is_ok()) {
            return true;
        }
        self.copier = None;
        self.state.store(IDLE, Ordering::Release);
        false
    }
}

/// A PASSIVE checkpoint on `conn`: copies what it can without waiting for anyone. (busy, pages
/// in the log, pages copied), as `PRAGMA wal_checkpoint` says.
fn checkpoint(conn: &Connection, who: &str) -> Option<(i64, i64, i64)> {
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    });
    match done {
        Ok((busy, log, copied)) => {
            tracing::debug!(busy, log, copied, "checkpoint by {who}");
            Some((busy, log, copied))
        }
        Err(e) => {
            tracing::warn!("checkpoint by {who} failed: {e}");
            None
        }
    }
}

/// Copies until what is left is short ([`CLOSE_ENOUGH`]; three passes at most: the writer keeps
/// committing meanwhile).
fn copy_most(conn: &Connection, total: &std::sync::atomic::AtomicI64) {
    let mut before = 0;
    for _ in 0..3 {
        match checkpoint(conn, "the checkpoint thread") {
            Some((0, log, copied)) => {
                total.fetch_add((copied - before).max(0), Ordering::Relaxed);
                before = copied;
                if log - copied <= CLOSE_ENOUGH {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// The copying thread: copies on request, then [`COPIED`] (also after a failure, so the writer
/// checkpoints itself). Ends with the writer's [`Wal`].
fn copy(path: &Path, state: &AtomicU8, copied: &std::sync::atomic::AtomicI64, rx: &mpsc::Receiver<()>) {
    let mut conn: Option<Connection> = None;
    while rx.recv().is_ok() {
        if conn.is_none() {
            conn = Connection::open(path)
                .and_then(|c| c.busy_timeout(std::time::Duration::from_secs(5)).map(|()| c))
                .map_err(|e| tracing::warn!("the checkpoint thread could not open {}: {e}", path.display()))
                .ok();
        }
        if let Some(c) = &conn {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| copy_most(c, copied)));
            if ran.is_err() {
                conn = None;
            }
        }
        // Only a copy the writer asked for and still waits for is reported done.
        let _ = state.compare_exchange(COPYING, COPIED, Ordering::AcqRel, Ordering::Acquire);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit_pages(conn: &Connection, rows: usize) -> i32 {
        let pad = "x".repeat(3000);
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        for _ in 0..rows {
            conn.execute("INSERT INTO t (pad) VALUES (?1)", [&pad]).expect("insert");
        }
        conn.execute_batch("COMMIT").expect("commit");
        PAGES.with(Cell::get)
    }

    /// The copy runs on its own thread, the writer finishes the tail, and the log then starts
    /// over: it never grows past the writer's own threshold.
    #[test]
    fn the_log_is_copied_off_the_writer_and_starts_over() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("wal.db");
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)").expect("table");
        Wal::watch(&conn);
        let mut wal = Wal::new(&path);
        let mut most = 0;
        let mut copies = 0;
        let mut restarted = false;
        let mut before = 0;
        for n in 0..400 {
            let pages = commit_pages(&conn, 20);
            most = most.max(pages);
            if pages < before {
                restarted = true;
            }
            before = pages;
            if wal.state.load(Ordering::Acquire) == COPYING {
                copies += 1;
                // Give the copying thread its turn, as a busy writer would by committing.
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            // Half the time as a writer with webhooks waiting: the tail is finished by TAIL_BY.
            wal.after_commit(&conn, n % 2 == 0);
        }
        assert!(wal.copier.is_some(), "the copying thread started");
        assert!(wal.copied_by_thread.load(Ordering::Relaxed) > 0, "the copying thread copied");
        assert!(copies > 0, "copies were asked for");
        assert!(restarted, "the log started over after a copy");
        // Bounded: at most a slow copy past the writer's own threshold (a loaded disk).
        assert!(most < 2 * WRITER_AT, "the log grew to {most} pages");
        // Without `after_commit`, SQLite's own rule is off: the log just grows.
        let more: i32 = (0..80).map(|_| commit_pages(&conn, 20)).last().unwrap_or(0);
        assert!(more > START_AT, "the connection checkpointed by itself ({more} pages)");
    }
}
