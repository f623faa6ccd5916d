//! The spool's background task: waits until the database answers, applies the spooled webhooks
//! in order (straight to the store, not behind the listener's writer, which may still hang on a
//! connection the outage left), marks its progress, empties the file, and says the outage is over.
//!
//! An event the database keeps failing as "unavailable" while it answers a ping (a SQLite file
//! busy for one statement only, a MariaDB timeout on one huge event) is tried alone, and after
//! [`STUCK_TRIES`] such tries over [`STUCK_FOR`] set aside in `.rejected` with why: the spool never blocks forever
//! behind one event. What waits is counted as lines are applied, never by reading the file again.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use chrono::{DateTime, Utc};

use super::Inner;
use super::file::Pending;
use crate::domain::ProviderEvent;
use crate::store::{ApplyOutcome, MAX_BATCH, StoreError};
use crate::telecmi::webhook;

/// What one round of draining did.
#[derive(Debug, Default)]
struct Tally {
    applied: usize,
    duplicates: usize,
    set_aside: usize,
}

/// Why a round stopped before the spool was empty.
enum Halt {
    /// The database stopped answering: try again later.
    Unavailable,
    /// The spool file could not be read or marked.
    File(std::io::Error),
}

/// How many times an event may fail as "unavailable" while the database answers a ping before it
/// is set aside.
pub(super) const STUCK_TRIES: u32 = 5;

/// How long an event must have been failing, as well as its [`STUCK_TRIES`], before it is set
/// aside: a database that answers pings but takes no writes for a while (a read-only node during
/// a failover, a full disk, a long lock) must not drain the spool into `.rejected`, one event
/// after another; at most one event per this long is set aside then.
pub(super) const STUCK_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// The event the drain last stopped at while the database answered, how many times, and since
/// when.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Stuck {
    /// Where the event's line ends in the spool.
    end: u64,
    tries: u32,
    since: Option<std::time::Instant>,
}

impl Stuck {
    /// The event ending at `end` failed again (at `now`) though the database answers: whether it
    /// has had its [`STUCK_TRIES`] over at least [`STUCK_FOR`] and is to be set aside.
    fn failed(&mut self, end: u64, now: std::time::Instant) -> bool {
        if self.end == end && self.tries > 0 {
            self.tries += 1;
        } else {
            *self = Self { end, tries: 1, since: Some(now) };
        }
        self.tries >= STUCK_TRIES && self.since.is_some_and(|s| now.duration_since(s) >= STUCK_FOR)
    }

    /// Whether the event ending at `end` has failed before (it is then tried alone).
    fn suspect(&self, end: u64) -> bool {
        self.tries > 0 && self.end == end
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Runs until the spooler is dropped: every [`super::RETRY_EVERY`], a spool holding anything is
/// drained if the database answers.
pub(super) async fn run(inner: Weak<Inner>) {
    let mut stuck = Stuck::default();
    loop {
        let Some(me) = inner.upgrade() else { return };
        let pause = me.retry_every;
        if me.waiting.load(Ordering::SeqCst) > 0 {
            if answers(&me).await {
                drain(&me, &mut stuck).await;
            }
        } else if me.broken.load(Ordering::SeqCst) && me.outage.ongoing() && answers(&me).await {
            // A webhook the spool could not take (`Taken::Lost`) began an outage with nothing
            // spooled to drain: it is over once the database answers.
            tracing::info!("webhook spool: the database answers again (nothing was spooled)");
            me.outage.ended();
        }
        drop(me);
        tokio::time::sleep(pause).await;
    }
}

/// Whether the database answers a ping within the budget.
async fn answers(me: &Inner) -> bool {
    matches!(tokio::time::timeout(me.budget, me.store.ping()).await, Ok(Ok(())))
}

/// Applies what the spool holds; once it is all applied, empties it and ends the outage.
async fn drain(me: &Arc<Inner>, stuck: &mut Stuck) {
    let mut tally = Tally::default();
    loop {
        match drain_round(me, &mut tally, stuck).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(Halt::Unavailable) => {
                log_progress(me, &tally, "the database stopped answering; the rest waits");
                return;
            }
            Err(Halt::File(e)) => {
                tracing::error!("webhook spool: cannot read or mark the spool file: {e}");
                return;
            }
        }
    }
    log_progress(me, &tally, "spool drained");
    me.outage.ended();
}

fn log_progress(me: &Inner, t: &Tally, what: &str) {
    let waiting = me.waiting.load(Ordering::SeqCst);
    tracing::info!(
        applied = t.applied,
        duplicates = t.duplicates,
        set_aside = t.set_aside,
        waiting,
        "webhook spool: {what}"
    );
}

/// One read of the spool, applied; `true` once the spool is empty.
async fn drain_round(me: &Arc<Inner>, tally: &mut Tally, stuck: &mut Stuck) -> Result<bool, Halt> {
    let pending = blocking(me, |f| f.pending()).await.map_err(Halt::File)?;
    if pending.is_empty() {
        return clear(me).await;
    }
    // An event that failed before goes alone, so only it is blamed if it fails again.
    let alone = usize::from(stuck.suspect(pending[0].end));
    let (first, rest) = pending.split_at(alone);
    for chunk in std::iter::once(first).filter(|c| !c.is_empty()).chain(rest.chunks(MAX_BATCH)) {
        apply_chunk(me, chunk, tally, stuck).await?;
    }
    Ok(false)
}

/// Empties the file if nothing new came meanwhile; `true` when it did.
async fn clear(me: &Arc<Inner>) -> Result<bool, Halt> {
    let inner = me.clone();
    blocking(me, move |f| {
        let cleared = f.clear_if_drained()?;
        if cleared {
            inner.waiting.store(0, Ordering::SeqCst);
        }
        Ok(cleared)
    })
    .await
    .map_err(Halt::File)
}

/// Applies one chunk of the spool in order and marks it done; stops at the first event the
/// database could not take for want of being there.
async fn apply_chunk(me: &Arc<Inner>, chunk: &[Pending], tally: &mut Tally, stuck: &mut Stuck) -> Result<(), Halt> {
    let mut readable = Vec::with_capacity(chunk.len());
    for p in chunk {
        match read(p) {
            Ok((ev, at)) => readable.push((p, ev, at)),
            Err(why) => {
                me.set_aside(line_of(p), why).await;
                tally.set_aside += 1;
            }
        }
    }
    let batch: Vec<(&ProviderEvent, DateTime<Utc>)> = readable.iter().map(|(_, ev, at)| (ev, *at)).collect();
    let outcomes = match tokio::time::timeout(me.budget * 10, me.store.apply_events(&batch)).await {
        Ok(outcomes) => outcomes,
        Err(_) => {
            // Blamed on the first event (tried alone next time) only if the database answers.
            if let Some((p, _, _)) = readable.first()
                && answers(me).await
                && stuck.failed(p.end, std::time::Instant::now())
            {
                let why = format!("the database answers but did not take this event in {STUCK_TRIES} tries");
                me.set_aside(line_of(p), why).await;
                tally.set_aside += 1;
                stuck.clear();
                mark(me, chunk, p.end).await?;
            }
            return Err(Halt::Unavailable);
        }
    };
    let mut done_to = None;
    let mut halted = None;
    for ((p, ev, _), outcome) in readable.iter().zip(outcomes) {
        match outcome {
            Err(e) if e.is_unavailable() => {
                if answers(me).await && stuck.failed(p.end, std::time::Instant::now()) {
                    let why = format!("the database answers but failed this event {STUCK_TRIES} times: {e}");
                    me.set_aside(line_of(p), why).await;
                    tally.set_aside += 1;
                    stuck.clear();
                } else {
                    halted = Some(Halt::Unavailable);
                    break;
                }
            }
            Err(e) => {
                me.set_aside(line_of(p), e.to_string()).await;
                tally.set_aside += 1;
            }
            Ok(outcome) => {
                // The event it stopped at went through: its count is over.
                if stuck.suspect(p.end) {
                    stuck.clear();
                }
                count(me, ev, &outcome, tally);
            }
        }
        done_to = Some(p.end);
    }
    if halted.is_none() {
        done_to = chunk.last().map(|p| p.end);
    }
    if let Some(end) = done_to {
        mark(me, chunk, end).await?;
    }
    halted.map_or(Ok(()), Err)
}

/// The spooled line's event, and when it was received.
fn read(p: &Pending) -> Result<(ProviderEvent, DateTime<Utc>), String> {
    let entry = p.entry.as_ref().map_err(|_| "not a spool line".to_string())?;
    let (ev, _) = webhook::parse_with_app_id(entry.body.as_bytes()).map_err(|e| format!("unreadable webhook: {e}"))?;
    Ok((ev, entry.at))
}

fn line_of(p: &Pending) -> String {
    match &p.entry {
        Ok(e) => serde_json::to_string(e).unwrap_or_default(),
        Err(line) => line.clone(),
    }
}

/// Counts an applied event and tells the screens, as the listener's writer does.
fn count(me: &Inner, ev: &ProviderEvent, outcome: &ApplyOutcome, tally: &mut Tally) {
    match outcome {
        ApplyOutcome::Duplicate => tally.duplicates += 1,
        ApplyOutcome::Applied { call, .. } => {
            tracing::info!(call_id = call.id, leg = ev.leg.as_str(), status = %ev.provider_status, "spooled webhook applied");
            tally.applied += 1;
        }
        _ => tally.applied += 1,
    }
    crate::server::ingest::announce(&me.bus, ev, &Ok::<_, StoreError>(outcome.clone()));
}

/// Marks the spool applied up to byte `end` (a line of `chunk`) and counts down what waits by
/// the lines of `chunk` up to it: counted, not read again (a big spool would be read once per
/// chunk, under the lock new webhooks wait for).
async fn mark(me: &Arc<Inner>, chunk: &[Pending], end: u64) -> Result<(), Halt> {
    let inner = me.clone();
    let lines = chunk.iter().take_while(|p| p.end <= end).count();
    blocking(me, move |f| {
        let before = f.applied();
        f.applied_to(end)?;
        if f.applied() > before {
            let _ = inner.waiting.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| Some(w.saturating_sub(lines)));
        }
        Ok(())
    })
    .await
    .map_err(Halt::File)
}

/// Runs `work` on the spool file off the async threads.
async fn blocking<T: Send + 'static>(
    me: &Arc<Inner>,
    work: impl FnOnce(&mut super::SpoolFile) -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let inner = me.clone();
    tokio::task::spawn_blocking(move || work(&mut inner.lock_file())).await.map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_failing_again_and_again_is_given_up_after_its_tries_and_ten_minutes() {
        let t0 = std::time::Instant::now();
        let mut s = Stuck::default();
        assert!(!s.suspect(10));
        for _ in 1..STUCK_TRIES {
            assert!(!s.failed(10, t0));
        }
        assert!(s.suspect(10) && !s.suspect(20));
        assert!(
            !s.failed(10, t0 + std::time::Duration::from_secs(5)),
            "its tries, but only seconds: writes may be down"
        );
        assert!(s.failed(10, t0 + STUCK_FOR), "its tries over ten minutes");
        s.clear();
        assert!(!s.suspect(10));
    }

    #[test]
    fn another_event_failing_starts_the_count_again() {
        let t0 = std::time::Instant::now();
        let mut s = Stuck::default();
        for _ in 1..STUCK_TRIES {
            assert!(!s.failed(10, t0));
        }
        let later = t0 + STUCK_FOR;
        assert!(!s.failed(20, later), "a different event: the database moved on");
        for _ in 2..STUCK_TRIES {
            assert!(!s.failed(20, later));
        }
        assert!(!s.failed(20, later + std::time::Duration::from_secs(1)), "its own ten minutes count");
        assert!(s.failed(20, later + STUCK_FOR));
    }
}
