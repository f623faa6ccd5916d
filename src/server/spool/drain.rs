//! The spool's background task: waits until the database answers, applies the spooled webhooks
//! in order (straight to the store, not behind the listener's writer, which may still hang on a
//! connection the outage left), marks its progress, empties the file, and says the outage is over.

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

/// Runs until the spooler is dropped: every [`super::RETRY_EVERY`], a spool holding anything is
/// drained if the database answers.
pub(super) async fn run(inner: Weak<Inner>) {
    loop {
        let Some(me) = inner.upgrade() else { return };
        let pause = me.retry_every;
        if me.waiting.load(Ordering::SeqCst) > 0 && answers(&me).await {
            drain(&me).await;
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
async fn drain(me: &Arc<Inner>) {
    let mut tally = Tally::default();
    loop {
        match drain_round(me, &mut tally).await {
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
async fn drain_round(me: &Arc<Inner>, tally: &mut Tally) -> Result<bool, Halt> {
    let pending = blocking(me, |f| f.pending()).await.map_err(Halt::File)?;
    if pending.is_empty() {
        return clear(me).await;
    }
    for chunk in pending.chunks(MAX_BATCH) {
        apply_chunk(me, chunk, tally).await?;
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
async fn apply_chunk(me: &Arc<Inner>, chunk: &[Pending], tally: &mut Tally) -> Result<(), Halt> {
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
        Err(_) => return Err(Halt::Unavailable),
    };
    let mut done_to = None;
    let mut halted = None;
    for ((p, ev, _), outcome) in readable.iter().zip(outcomes) {
        match outcome {
            Err(e) if e.is_unavailable() => {
                halted = Some(Halt::Unavailable);
                break;
            }
            Err(e) => {
                me.set_aside(line_of(p), e.to_string()).await;
                tally.set_aside += 1;
            }
            Ok(outcome) => count(me, ev, &outcome, tally),
        }
        done_to = Some(p.end);
    }
    if halted.is_none() {
        done_to = chunk.last().map(|p| p.end);
    }
    if let Some(end) = done_to {
        mark(me, end).await?;
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

/// Marks the spool applied up to byte `end` and counts down what waits.
async fn mark(me: &Arc<Inner>, end: u64) -> Result<(), Halt> {
    let inner = me.clone();
    blocking(me, move |f| {
        f.applied_to(end)?;
        inner.waiting.store(f.waiting()?, Ordering::SeqCst);
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
